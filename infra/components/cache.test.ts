import { beforeAll, describe, expect, it } from "vitest";
import { resourceNamed, resourcesOfType } from "../../tests/support/infra/resources";
import { isSecret, type ProgramRun, runProgram } from "../offline-runner/runner";
import { scalingPolicyFor } from "../scaling/policy";
import { cacheNodeZones } from "./cache";

let prod: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
  dev = await runProgram({ stack: "dev" });
});

const group = (run: ProgramRun) =>
  resourceNamed(run, "aws:elasticache/replicationGroup:ReplicationGroup", "cache-redis");

describe("Cache", () => {
  it.each(["prod", "dev"] as const)(
    "uses the %s policy's node type and replicas, Multi-AZ with failover",
    (stack) => {
      const run = stack === "prod" ? prod : dev;
      const policy = scalingPolicyFor(stack).cache;
      expect(group(run).inputs).toMatchObject({
        engine: "redis",
        engineVersion: "7.1",
        nodeType: policy.nodeType,
        numCacheClusters: policy.replicas + 1,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
      });
      const zones = group(run).inputs.preferredCacheClusterAzs as string[];
      expect(zones).toHaveLength(policy.replicas + 1);
      expect(new Set(zones).size).toBe(zones.length);
    },
  );

  it("encrypts in transit and at rest, and requires a generated AUTH token kept secret", () => {
    const inputs = group(prod).inputs;
    expect(inputs).toMatchObject({
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      kmsKeyId: resourceNamed(prod, "aws:kms/key:Key", "cache-key").outputs.arn,
    });
    expect(isSecret(inputs.authToken)).toBe(true);
    const token = resourceNamed(prod, "random:index/randomPassword:RandomPassword", "cache-auth-token");
    expect((inputs.authToken as { value: unknown }).value).toEqual(
      (token.outputs.result as { value: unknown }).value,
    );
    expect(token.inputs).toMatchObject({ length: 64, special: false });
  });

  it("evicts least recently used keys and keeps snapshots", () => {
    const params = resourceNamed(prod, "aws:elasticache/parameterGroup:ParameterGroup", "cache-params");
    expect(params.inputs).toMatchObject({
      family: "redis7",
      parameters: [{ name: "maxmemory-policy", value: "allkeys-lru" }],
    });
    expect(group(prod).inputs.parameterGroupName).toBe(params.outputs.name);
    expect(group(prod).inputs.snapshotRetentionLimit).toBe(7);
    expect(group(dev).inputs.snapshotRetentionLimit).toBeGreaterThan(0);
  });

  it("admits only the cluster's security group, on Redis's port", () => {
    const sg = resourceNamed(prod, "aws:ec2/securityGroup:SecurityGroup", "cache-sg");
    const rules = resourcesOfType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
      (rule) => rule.inputs.securityGroupId === sg.outputs.id,
    );
    const cluster = resourceNamed(prod, "aws:eks/cluster:Cluster", "cluster-eks");
    expect(rules.map((rule) => rule.inputs)).toEqual([
      expect.objectContaining({
        referencedSecurityGroupId: (cluster.outputs.vpcConfig as { clusterSecurityGroupId: string })
          .clusterSecurityGroupId,
        fromPort: 6379,
        toPort: 6379,
      }),
    ]);
    expect(group(prod).inputs.securityGroupIds).toEqual([sg.outputs.id]);
  });

  it("lives in the data subnets and exports its primary endpoint", () => {
    const subnetGroup = resourceNamed(prod, "aws:elasticache/subnetGroup:SubnetGroup", "cache-subnets");
    const dataSubnets = resourcesOfType(prod, "aws:ec2/subnet:Subnet")
      .filter((subnet) => subnet.name.includes("network-data"))
      .map((subnet) => subnet.outputs.id);
    expect(subnetGroup.inputs.subnetIds).toEqual(dataSubnets);
    expect(prod.stackOutputs.redisEndpoint).toBe(group(prod).outputs.primaryEndpointAddress);
  });

  it("spreads nodes round-robin over the AZs", () => {
    expect(cacheNodeZones(["a", "b", "c"], 3)).toEqual(["a", "b", "c"]);
    expect(cacheNodeZones(["a", "b"], 3)).toEqual(["a", "b", "a"]);
  });
});
