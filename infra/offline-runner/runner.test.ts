import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { resourceNamed, reveal } from "../../tests/support/infra/resources";
import { temporaryDirectory } from "../../tests/support/temporary-directory";
import { mockCall, mockResource } from "./mock-outputs";
import { isSecret, repositoryRoot, runProgram } from "./runner";

describe("runProgram", () => {
  it("captures every registration with its parent and the stack outputs", async () => {
    const run = await runProgram({ stack: "dev" });
    const stackResource = run.resources.find((resource) => resource.type === "pulumi:pulumi:Stack");
    expect(stackResource?.name).toBe("parley-dev");
    const vpc = run.resources.find((resource) => resource.type === "aws:ec2/vpc:Vpc");
    expect(vpc?.inputs.cidrBlock).toBe("10.50.0.0/16");
    expect(vpc?.parent).toMatch(/parley:infra:Network::parley-dev-network$/);
    expect(vpc?.outputs.id).toMatch(/^vpc-/);
    expect(run.stackOutputs.clusterName).toBe("parley-dev");
  });

  it("runs again in the same process with other config (fresh program, no leftovers)", async () => {
    const first = await runProgram({ stack: "prod" });
    const second = await runProgram({ stack: "prod", config: { "parley:vpcCidr": "10.60.0.0/16" } });
    const cidrOf = (run: typeof first) =>
      run.resources.find((resource) => resource.type === "aws:ec2/vpc:Vpc")?.inputs.cidrBlock;
    expect(cidrOf(first)).toBe("10.40.0.0/16");
    expect(cidrOf(second)).toBe("10.60.0.0/16");
    expect(second.resources.length).toBe(first.resources.length);
  });

  it("rejects with the config error when the config is invalid", async () => {
    await expect(runProgram({ stack: "dev", config: { "parley:vpcCidr": "10.0.0.0/8" } })).rejects.toThrow(
      /parley:vpcCidr = "10.0.0.0\/8" is not allowed/,
    );
  });

  it("marks a provider's secret outputs as secrets, as the engine does", async () => {
    const run = await runProgram({ stack: "dev" });
    const password = run.resources.find(
      (resource) => resource.type === "random:index/randomPassword:RandomPassword",
    );
    expect(isSecret(password?.outputs.result)).toBe(true);
    expect(isSecret(run.stackOutputs.kubeconfig)).toBe(true);
  });

  it("works from a plain tsx script, several stacks in one process", async () => {
    const script = path.join(temporaryDirectory("parley-harness-"), "run.ts");
    writeFileSync(
      script,
      [
        `import { runProgram } from ${JSON.stringify(path.join(repositoryRoot, "infra", "offline-runner", "runner"))};`,
        "(async () => {",
        "  for (const stack of ['prod', 'dev'] as const) {",
        "    const run = await runProgram({ stack });",
        "    console.log(stack, run.resources.length, run.stackOutputs.clusterName);",
        "  }",
        "})();",
      ].join("\n"),
    );
    const tsx = path.join(repositoryRoot, "node_modules", ".bin", "tsx");
    const { stdout } = await promisify(execFile)(tsx, [script], {
      cwd: repositoryRoot,
      env: { ...process.env, VITEST: "" },
    });
    expect(stdout).toMatch(/^prod \d+ parley-prod\ndev \d+ parley-dev\n$/);
  });

  it("keeps secrets wrapped", () => {
    const wrapped = {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: "s3cret",
    };
    expect(isSecret(wrapped)).toBe(true);
    expect(reveal({ a: [wrapped] })).toEqual({ a: ["s3cret"] });
  });
});

describe("mock outputs", () => {
  const context = { region: "us-east-1" };

  it("gives Kubernetes objects a name and an Ingress its load balancer, as the cluster would", () => {
    const ingress = mockResource(
      {
        type: "kubernetes:networking.k8s.io/v1:Ingress",
        name: "app",
        inputs: { metadata: { name: "parley" } },
      },
      context,
    );
    expect(ingress.state.metadata).toEqual({ name: "parley" });
    expect(ingress.state.status).toEqual({
      loadBalancer: {
        ingress: [{ hostname: expect.stringMatching(/^k8s-[0-9a-f]{16}\.us-east-1\.elb\.amazonaws\.com$/) }],
      },
    });
    const unnamed = mockResource({ type: "kubernetes:core/v1:ConfigMap", name: "dash", inputs: {} }, context);
    expect(unnamed.state.metadata).toEqual({ name: expect.stringMatching(/^dash-[0-9a-f]{8}$/) });
  });

  it("computes what AWS would: ARNs, endpoints, the cluster's certificate authority", () => {
    const cluster = mockResource(
      { type: "aws:eks/cluster:Cluster", name: "eks", inputs: { name: "parley-dev" } },
      context,
    );
    expect(cluster.state).toMatchObject({
      arn: "arn:aws:eks:us-east-1:123456789012:eks",
      endpoint: expect.stringMatching(/^https:\/\/[0-9A-F]{32}\.gr7\.us-east-1\.eks\.amazonaws\.com$/),
      certificateAuthority: { data: expect.any(String) },
      vpcConfig: { clusterSecurityGroupId: expect.stringMatching(/^sg-/) },
    });
    expect(
      mockCall({ token: "aws:index/getAvailabilityZones:getAvailabilityZones", inputs: {} }, context).names,
    ).toEqual(["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]);
  });
});

describe("preview mode (what `pulumi preview` sees on a first deploy)", () => {
  it("leaves every value the cloud computes unknown, and whatever derives from it", async () => {
    const run = await runProgram({ stack: "prod", preview: true });
    const eks = resourceNamed(run, "aws:eks/cluster:Cluster", "cluster-eks");
    expect(eks.outputs.endpoint).toBe(unknownValue);
    expect(eks.outputs.name).toBe("parley-prod");
    const primary = resourceNamed(run, "aws:rds/instance:Instance", "database-primary");
    expect(primary.outputs.address).toBe(unknownValue);
    // The kubeconfig needs the endpoint: the Kubernetes provider is configured with an unknown.
    const provider = run.resources.find((r) => r.type === "pulumi:providers:kubernetes");
    expect(JSON.stringify(provider?.inputs.kubeconfig)).toContain(unknownValue);
    // What the program passes in stays known; Kubernetes names its objects during preview already.
    const deployment = resourceNamed(run, "kubernetes:apps/v1:Deployment", "workload-deployment");
    expect(deployment.inputs.metadata).toMatchObject({ name: "parley", namespace: "parley" });
    expect(JSON.stringify(deployment.inputs)).toMatch(
      /"image":"123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/parley-prod:0\.1\.0@sha256:[0-9a-f]{64}"/,
    );
    const ingress = resourceNamed(run, "kubernetes:networking.k8s.io/v1:Ingress", "workload-ingress");
    expect(ingress.outputs.status).toBe(unknownValue);
  });

  it("marks computed fields unknown without touching what the inputs fix", () => {
    const args = {
      type: "aws:eks/cluster:Cluster",
      name: "eks",
      inputs: { name: "parley-dev", vpcConfig: { subnetIds: ["a"] } },
    };
    const state = mockResource(args, { region: "us-east-1", preview: true });
    expect(state.id).toBe("");
    expect(state.state).toMatchObject({
      name: "parley-dev",
      arn: unknownValue,
      endpoint: unknownValue,
      vpcConfig: { subnetIds: ["a"], clusterSecurityGroupId: unknownValue, vpcId: unknownValue },
    });
  });
});
