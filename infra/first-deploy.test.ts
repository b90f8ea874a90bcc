/**
 * The first deploy from an empty account, played against the mocks in the order docs/deploying.md
 * gives: what exists before each step (no cluster, no CRDs, no image), and that each step's program
 * declares only what can be created at that point. Every step runs as `pulumi preview` (computed
 * outputs unknown), the way the real first preview sees an empty account.
 */
import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../policies/offline";
import { packArgs } from "../policies/pack";
import { loadPackConfig } from "../policies/support/packConfig";
import { resourceByUrn, resourcesOfType } from "../tests/support/infra/resources";
import { crdSources } from "./components/cluster-services/crds";
import { spotServiceName } from "./components/karpenter-aws";
import { type ProgramRun, type RegisteredResource, runProgram } from "./offline-runner/runner";

const emptyAccount = { ecrImages: [] as string[], preview: true };

/** Every resource `resource` waits for, directly or through what those wait for. */
function waitsFor(run: ProgramRun, resource: RegisteredResource): Set<string> {
  const seen = new Set<string>();
  const pending = [...resource.dependencies];
  while (pending.length > 0) {
    const urn = pending.pop()!;
    if (seen.has(urn)) continue;
    seen.add(urn);
    pending.push(...(resourceByUrn(run, urn)?.dependencies ?? []));
  }
  return seen;
}

const providerOf = (run: ProgramRun, resource: RegisteredResource) =>
  resource.provider
    ? resourceByUrn(run, resource.provider.slice(0, resource.provider.lastIndexOf("::")))
    : undefined;

/** Custom resources must wait for whatever installs their CRD (a CRD chart or CRD resources). */
function crdInstallers(run: ProgramRun, group: string): RegisteredResource[] {
  const source = Object.values(crdSources).find((s) => (s.groups as readonly string[]).includes(group));
  if (!source) return [];
  if ("chart" in source) {
    return resourcesOfType(run, "kubernetes:helm.sh/v3:Release").filter(
      (release) => release.inputs.chart === source.chart.chart,
    );
  }
  return resourcesOfType(run, "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition").filter(
    (crd) => (crd.inputs.spec as { group?: string } | undefined)?.group === group,
  );
}

describe.each(["dev", "prod"] as const)("first deploy of %s from an empty account", (stack) => {
  it("step 1, platform (parley:imageTag unset, no image, no cluster, no CRDs): nothing runs the app yet", async () => {
    const run = await runProgram({ stack, unset: ["parley:imageTag"], ...emptyAccount });
    const types = new Set(run.resources.map((r) => r.type));
    // The ECR repository app-release pushes to, and everything the app will need.
    expect(types).toContain("aws:ecr/repository:Repository");
    expect(types).toContain("aws:eks/cluster:Cluster");
    expect(types).toContain("aws:rds/instance:Instance");
    // Nothing that would pull an image nobody pushed, and no public record pointing at no origin.
    for (const absent of [
      "parley:infra:Workload",
      "kubernetes:batch/v1:Job",
      "kubernetes:apps/v1:Deployment",
      "kubernetes:networking.k8s.io/v1:Ingress",
      "parley:infra:PublicDnsRecord",
    ]) {
      expect(types, absent).not.toContain(absent);
    }

    // Nothing in the cluster before the cluster: every Kubernetes object goes through the provider
    // that waits for the control plane, the nodes and the add-ons.
    const eks = resourcesOfType(run, "aws:eks/cluster:Cluster")[0]!;
    const nodeGroup = resourcesOfType(run, "aws:eks/nodeGroup:NodeGroup")[0]!;
    for (const resource of run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom)) {
      const provider = providerOf(run, resource);
      expect(provider?.type, resource.name).toBe("pulumi:providers:kubernetes");
      const before = waitsFor(run, provider!);
      expect(before.has(eks.urn) && before.has(nodeGroup.urn), resource.name).toBe(true);
    }

    // No custom resource before its CRD: each waits for whatever installs its API group.
    const custom = run.resources.filter(
      (r) =>
        r.type.startsWith("kubernetes:") &&
        !/^kubernetes:(core|apps|batch|policy|networking\.k8s\.io|storage\.k8s\.io|autoscaling|rbac\.authorization\.k8s\.io|apiextensions\.k8s\.io|helm\.sh)\//.test(
          r.type,
        ),
    );
    expect(custom.length).toBeGreaterThan(0);
    for (const resource of custom) {
      const group = resource.type.split(":")[1]!.split("/")[0]!;
      const installers = crdInstallers(run, group);
      expect(installers.length, `${resource.name}: nothing installs the CRDs of ${group}`).toBeGreaterThan(0);
      const before = waitsFor(run, resource);
      for (const installer of installers)
        expect(before.has(installer.urn), `${resource.name} → ${installer.name}`).toBe(true);
    }

    // The mandatory policies can decide on what this preview knows.
    const { violations } = await evaluatePolicies(packArgs, run.resources, loadPackConfig(stack));
    expect(violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
  });

  it("step 2, the PR setting parley:imageTag before the image is pushed: stops before declaring anything, naming the key", async () => {
    await expect(
      runProgram({ stack, config: { "parley:imageTag": "sha-0123456789ab" }, ...emptyAccount }),
    ).rejects.toThrow(
      new RegExp(
        `^parley:imageTag = "sha-0123456789ab" names no image in ECR repository "parley-${stack}" \\(.*ImageNotFoundException.*\\)\\. Push it first`,
      ),
    );
  });

  it("refuses a recorded parley:imageDigest that is not the digest ECR holds for the tag", async () => {
    const recorded = `sha256:${"ab".repeat(32)}`;
    await expect(
      runProgram({
        stack,
        config: { "parley:imageTag": "sha-0123456789ab", "parley:imageDigest": recorded },
        ecrImages: [`parley-${stack}:sha-0123456789ab`],
      }),
    ).rejects.toThrow(
      new RegExp(
        `^parley:imageDigest = "${recorded}" is not the digest of parley-${stack}:sha-0123456789ab in ECR \\(sha256:[0-9a-f]{64}\\): the release PR sets both together$`,
      ),
    );
  });

  it("step 3, after app-release pushed the image: the app, its Job and its DNS record, image pinned by digest", async () => {
    const run = await runProgram({
      stack,
      config: { "parley:imageTag": "sha-0123456789ab" },
      ecrImages: [`parley-${stack}:sha-0123456789ab`],
      preview: true,
    });
    const [job] = resourcesOfType(run, "kubernetes:batch/v1:Job");
    expect(job).toBeDefined();
    const image = (job!.inputs as { spec: { template: { spec: { containers: Array<{ image: string }> } } } })
      .spec.template.spec.containers[0]!.image;
    expect(image).toMatch(
      new RegExp(
        `^123456789012\\.dkr\\.ecr\\.us-east-1\\.amazonaws\\.com/parley-${stack}:sha-0123456789ab@sha256:[0-9a-f]{64}$`,
      ),
    );
    expect(resourcesOfType(run, "parley:infra:PublicDnsRecord")).toHaveLength(1);
    // Prometheus scrapes the app's metrics port, the one port the Ingress never routes.
    const monitor = resourcesOfType(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor").find(
      (r) => (r.inputs.metadata as { name?: string }).name === "parley",
    );
    expect(monitor).toBeDefined();
    expect((monitor!.inputs.spec as { endpoints: Array<{ port: string }> }).endpoints[0]?.port).toBe(
      "metrics",
    );
  });
});

describe("Spot capacity", () => {
  const spotRoles = (run: ProgramRun) =>
    resourcesOfType(run, "aws:iam/serviceLinkedRole:ServiceLinkedRole").filter(
      (role) => role.inputs.awsServiceName === spotServiceName,
    );

  it("dev, whose NodePool allows Spot, creates AWSServiceRoleForEC2Spot before the cluster services run", async () => {
    const run = await runProgram({ stack: "dev" });
    const [role] = spotRoles(run);
    expect(role).toBeDefined();
    const karpenter = resourcesOfType(run, "kubernetes:helm.sh/v3:Release").find((r) =>
      r.name.endsWith("-karpenter"),
    )!;
    expect(waitsFor(run, providerOf(run, karpenter)!).has(role!.urn)).toBe(true);
  });

  it("prod (on-demand only) creates none, and an account that has it already says so in config", async () => {
    expect(spotRoles(await runProgram({ stack: "prod" }))).toEqual([]);
    const existing = await runProgram({
      stack: "dev",
      config: { "parley:spotServiceLinkedRole": "existing" },
    });
    expect(spotRoles(existing)).toEqual([]);
  });
});
