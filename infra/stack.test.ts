/** The whole program, prod and dev, under mocks: what holds across every component. */
import { beforeAll, describe, expect, it } from "vitest";
import { plaintextStrings, resourcesOfType, reveal } from "../tests/support/infra/resources";
import { isSecret, type ProgramRun, runProgram } from "./offline-runner/runner";

const runs: Record<"prod" | "dev", ProgramRun> = {} as Record<"prod" | "dev", ProgramRun>;
beforeAll(async () => {
  runs.prod = await runProgram({ stack: "prod" });
  runs.dev = await runProgram({ stack: "dev" });
});

const stacks = ["prod", "dev"] as const;

describe.each(stacks)("the %s stack", (stack) => {
  const run = () => runs[stack];

  it("exports the public URL, endpoints, cluster name, kubeconfig (secret) and ECR repository URL", () => {
    const outputs = run().stackOutputs;
    const plain = [
      "clusterName",
      "dbPrimaryEndpoint",
      "dbReaderEndpoint",
      "ecrRepositoryUrl",
      "publicUrl",
      "redisEndpoint",
    ];
    for (const key of plain) expect(typeof outputs[key], key).toBe("string");
    expect(isSecret(outputs.kubeconfig)).toBe(true);
    expect(outputs.clusterName).toBe(`parley-${stack}`);
  });

  it("registers no generated secret in plaintext, in any input or output", () => {
    const generated = resourcesOfType(run(), "random:index/randomPassword:RandomPassword").map(
      (password) => reveal(password.outputs.result) as string,
    );
    // At least the database's master password and the cache's AUTH token.
    expect(generated.length).toBeGreaterThanOrEqual(2);
    for (const secret of generated) expect(secret.length).toBeGreaterThanOrEqual(32);
    for (const resource of run().resources) {
      for (const text of [...plaintextStrings(resource.inputs), ...plaintextStrings(resource.outputs)]) {
        for (const secret of generated)
          expect(text.includes(secret), `${resource.type} ${resource.name}`).toBe(false);
      }
    }
    for (const text of plaintextStrings(run().stackOutputs)) {
      for (const secret of generated) expect(text.includes(secret)).toBe(false);
    }
  });

  it("tags every taggable AWS resource with project, stack, component and managed-by", () => {
    const mustBeTagged = [
      "aws:ec2/vpc:Vpc",
      "aws:ec2/subnet:Subnet",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:ec2/natGateway:NatGateway",
      "aws:eks/cluster:Cluster",
      "aws:eks/nodeGroup:NodeGroup",
      "aws:rds/instance:Instance",
      "aws:elasticache/replicationGroup:ReplicationGroup",
      "aws:kms/key:Key",
      "aws:iam/role:Role",
      "aws:sqs/queue:Queue",
      "aws:ecr/repository:Repository",
      "aws:secretsmanager/secret:Secret",
      "aws:cloudwatch/logGroup:LogGroup",
    ];
    for (const type of mustBeTagged) expect(resourcesOfType(run(), type).length, type).toBeGreaterThan(0);
    const tagged = run().resources.filter(
      (resource) =>
        resource.type.startsWith("aws:") &&
        (mustBeTagged.includes(resource.type) || "tags" in resource.inputs),
    );
    for (const resource of tagged) {
      expect(resource.inputs.tags, `${resource.type} ${resource.name}`).toMatchObject({
        project: "parley",
        stack,
        component: expect.any(String),
        "managed-by": "pulumi",
      });
    }
  });

  it("describes security groups and their rules only with characters EC2 accepts", () => {
    // EC2 rejects other characters (an apostrophe, for one) in group and rule descriptions.
    const allowed = /^[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]*$/;
    const described = run().resources.filter((resource) =>
      [
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
      ].includes(resource.type),
    );
    expect(described.length).toBeGreaterThan(0);
    for (const resource of described) {
      expect(String(resource.inputs.description ?? ""), resource.name).toMatch(allowed);
    }
  });

  it("parents every cloud resource to one of the program's components, under unique URNs", () => {
    const urns = run().resources.map((resource) => resource.urn);
    expect(new Set(urns).size).toBe(urns.length);
    const components = new Set(
      run()
        .resources.filter((resource) => !resource.custom && resource.type.startsWith("parley:"))
        .map((resource) => resource.urn),
    );
    const orphans = run().resources.filter(
      (resource) =>
        resource.custom &&
        !resource.type.startsWith("pulumi:providers:") &&
        !components.has(resource.parent ?? ""),
    );
    expect(orphans.map((resource) => `${resource.type} ${resource.name}`)).toEqual([]);
  });
});

describe("the scaling invariants", () => {
  it("stop the program when the policy cannot be shown to hold in the stack's context", async () => {
    await expect(runProgram({ stack: "prod", config: { "aws:region": "ap-south-2" } })).rejects.toThrow(
      /scaling policy "prod" breaks \d+ invariant\(s\):\n {2}- \[/,
    );
  });
});

describe("prod and dev", () => {
  it("differ where dev is the cheaper shape: one NAT gateway, single-AZ primary, no deletion protection", () => {
    const count = (stack: "prod" | "dev", type: string) => resourcesOfType(runs[stack], type).length;
    expect(count("prod", "aws:ec2/natGateway:NatGateway")).toBe(3);
    expect(count("dev", "aws:ec2/natGateway:NatGateway")).toBe(1);
    const primary = (stack: "prod" | "dev") =>
      resourcesOfType(runs[stack], "aws:rds/instance:Instance").find((i) => i.name.endsWith("primary"))
        ?.inputs;
    expect(primary("prod")).toMatchObject({ multiAz: true, deletionProtection: true });
    expect(primary("dev")).toMatchObject({ multiAz: false, deletionProtection: false });
  });
});
