import { describe, expect, it } from "vitest";
import { rdsMaxConnections } from "../../infra/scaling/database";
import { karpenterNodePoolSpec } from "../../infra/scaling/karpenter";
import { containerResources, hpaSpec, pdbSpec } from "../../infra/scaling/kubernetes";
import { scalingPolicyFor } from "../../infra/scaling/policy";
import { deployment, subnet } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { runPolicyGate } from "../offline";
import { deployedScalingPolicy, nodePoolType, scalingInvariants, stackOfUrn } from "./scaling";

const prod = scalingPolicyFor("prod");
const labels = { app: "parley" };
const zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];

/** A prod stack whose resources carry exactly the prod scaling policy's numbers. */
function prodStack() {
  const app = mutate(deployment, "spec.template.spec.containers.0", {
    ...deployment.spec.template.spec.containers[0],
    name: "parley",
    resources: containerResources(prod),
    env: [
      { name: "DB_POOL_MAX", value: String(prod.database.poolMaxPerPod.primary) },
      { name: "DB_REPLICA_POOL_MAX", value: String(prod.database.poolMaxPerPod.replica) },
    ],
  });
  const { system } = prod.nodes;
  return {
    deployment: app,
    hpa: { metadata: { name: "parley", namespace: "parley" }, spec: hpaSpec(prod, "parley") },
    pdb: { metadata: { name: "parley", namespace: "parley" }, spec: pdbSpec(prod, labels) },
    nodePool: {
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      spec: karpenterNodePoolSpec(prod, "parley-app"),
    },
    nodeGroup: {
      instanceTypes: [system.instanceType],
      scalingConfig: { minSize: system.minSize, desiredSize: system.desiredSize, maxSize: system.maxSize },
    },
    primary: { instanceClass: prod.database.instanceClass, allocatedStorage: 100, maxAllocatedStorage: 1000 },
    replica: { instanceClass: prod.database.instanceClass, replicateSourceDb: "primary" },
    cache: { nodeType: prod.cache.nodeType, numCacheClusters: prod.cache.replicas + 1 },
    subnetCidr: "10.40.32.0/19",
  };
}

type Stack = ReturnType<typeof prodStack>;

function resources(stack: Stack) {
  return [
    planned("pulumi:providers:aws", { region: "eu-west-1" }, "default"),
    ...zones.map((zone) =>
      planned("aws:ec2/subnet:Subnet", {
        ...subnet(zone),
        cidrBlock: stack.subnetCidr,
        tags: { tier: "private", "karpenter.sh/discovery": "parley-prod" },
      }),
    ),
    planned("aws:ec2/subnet:Subnet", {
      ...subnet("eu-west-1a"),
      cidrBlock: "10.40.0.0/24",
      tags: { tier: "public" },
    }),
    planned("kubernetes:apps/v1:Deployment", stack.deployment),
    planned("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", stack.hpa),
    planned("kubernetes:policy/v1:PodDisruptionBudget", stack.pdb),
    planned(nodePoolType, stack.nodePool),
    planned("aws:eks/nodeGroup:NodeGroup", stack.nodeGroup),
    planned("aws:rds/instance:Instance", stack.primary),
    ...Array.from({ length: prod.database.readReplicas }, () =>
      planned("aws:rds/instance:Instance", stack.replica),
    ),
    planned("aws:elasticache/replicationGroup:ReplicationGroup", stack.cache),
  ];
}

const check = (stack: Stack) => messages(scalingInvariants, resources(stack), { stack: "prod" });

describe("scaling-invariants", () => {
  it("reads back the prod policy from resources that carry its numbers", async () => {
    let seen: unknown;
    const spy = {
      ...scalingInvariants,
      validateStack: (args: Parameters<typeof scalingInvariants.validateStack>[0]) => {
        seen = deployedScalingPolicy(prod, args.resources, "parley");
      },
    };
    await runPolicyGate({ policies: [spy] }, resources(prodStack()), {});
    expect(seen).toEqual(prod);
  });

  it("passes the prod stack as the policy declares it", async () => {
    expect(await check(prodStack())).toEqual([]);
  });

  it("a pool size that overruns the primary's max_connections", async () => {
    const stack = prodStack();
    stack.deployment = mutate(stack.deployment, "spec.template.spec.containers.0.env.0.value", "100");
    const [only, ...rest] = await check(stack);
    expect(rest).toEqual([]);
    const { maxReplicas } = prod.pods;
    const { reservedConnections, instanceClass } = prod.database;
    const needed = maxReplicas * 100 + reservedConnections;
    expect(only).toBe(
      `[db-connection-budget] primary: ${maxReplicas} pods × 100 connections + ${reservedConnections} reserved = ${needed} exceeds max_connections ${rdsMaxConnections(instanceClass)} of ${instanceClass}`,
    );
  });

  it("a memory request above its limit", async () => {
    const stack = prodStack();
    const limit = prod.pods.memoryLimitMiB;
    stack.deployment = mutate(
      stack.deployment,
      "spec.template.spec.containers.0.resources.requests.memory",
      `${limit + 64}Mi`,
    );
    expect(await check(stack)).toContain(
      `[pod-bounds] memory request ${limit + 64}Mi exceeds its limit ${limit}Mi`,
    );
  });

  it("a NodePool too small for max replicas", async () => {
    const stack = prodStack();
    stack.nodePool = mutate(stack.nodePool, "spec.limits.cpu", "8");
    const found = await check(stack);
    // Too few cores both breaks the static fit and makes the simulated spike wait on the limits.
    expect(found.map((m) => m.slice(1, m.indexOf("]")))).toEqual([
      "node-pool-fits-max-pods",
      "reaches-peak-in-time",
    ]);
    expect(found[0]).toMatch(
      new RegExp(`^\\[node-pool-fits-max-pods\\] ${prod.pods.maxReplicas} pods .* limited to 8 cores`),
    );
  });

  it("a PDB that lets every pod go at once", async () => {
    const stack = prodStack();
    stack.pdb = mutate(stack.pdb, "spec.maxUnavailable", 3);
    expect(await check(stack)).toEqual([
      "[pdb-keeps-serving] the PDB's maxUnavailable 3 lets all 3 pods at min replicas be evicted at once",
    ]);
  });

  it("fewer min replicas than zones in prod", async () => {
    const stack = prodStack();
    stack.hpa = mutate(stack.hpa, "spec.minReplicas", 2);
    expect(await check(stack)).toContain(
      "[min-replicas-per-zone] minReplicas 2 is below the 3 AZs: some AZ would run no pod",
    );
  });

  it("pod subnets too small for max scale", async () => {
    const stack = prodStack();
    stack.subnetCidr = "10.40.32.0/26";
    const found = await check(stack);
    expect(found).toHaveLength(3);
    for (const message of found) {
      expect(message).toMatch(
        new RegExp(
          `^\\[subnet-ip-capacity\\] eu-west-1[abc]: pod subnets hold 59 IPs but \\d+ are needed at ${prod.pods.maxReplicas} replicas`,
        ),
      );
    }
  });

  it("a stack without a scaling policy is named", async () => {
    expect(await messages(scalingInvariants, resources(prodStack()))).toEqual([
      'Stack "test" has no scaling policy (known: prod, dev); set "stack" in the pack config.',
    ]);
    expect(stackOfUrn("urn:pulumi:prod::parley::aws:kms/key:Key::k")).toBe("prod");
  });
});
