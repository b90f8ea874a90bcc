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

/** The policy `deployedScalingPolicy` reads from the stack's resources as the policy engine hands them over. */
async function deployed(
  declared: typeof prod,
  stack: Stack,
  { replicaFirst = false }: { replicaFirst?: boolean } = {},
): Promise<typeof prod> {
  let seen: typeof prod | undefined;
  const spy = {
    ...scalingInvariants,
    validateStack: (args: Parameters<typeof scalingInvariants.validateStack>[0]) => {
      seen = deployedScalingPolicy(declared, args.resources, "parley");
    },
  };
  const all = resources(stack);
  if (replicaFirst) {
    const isReplica = (r: (typeof all)[number]) => r.inputs.replicateSourceDb !== undefined;
    all.sort((a, b) => Number(isReplica(b)) - Number(isReplica(a)));
  }
  await runPolicyGate({ policies: [spy] }, all, {});
  return seen!;
}

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

  it("takes every number the resources carry over the declared policy's", async () => {
    // Declared: every carried number differs from what the prod resources deploy.
    const declared = structuredClone(prod);
    Object.assign(declared.pods, {
      minReplicas: 9,
      maxReplicas: 99,
      cpuRequestMillicores: 1,
      cpuLimitMillicores: 2,
      memoryRequestMiB: 3,
      memoryLimitMiB: 4,
    });
    declared.database.poolMaxPerPod = { primary: 1, replica: 1 };
    declared.hpa.scaleUp = { stabilizationWindowSeconds: 999, selectPolicy: "Min", policies: [] };
    declared.hpa.scaleDown = { stabilizationWindowSeconds: 999, selectPolicy: "Disabled", policies: [] };
    declared.pdb.maxUnavailable = 7;
    declared.nodes.karpenter.cpuLimitCores = 1;
    declared.nodes.karpenter.memoryLimitGiB = 1;
    declared.nodes.system = { instanceType: "t3.medium", minSize: 1, desiredSize: 1, maxSize: 1 };
    Object.assign(declared.database, {
      instanceClass: "db.t4g.micro",
      readReplicas: 0,
      allocatedStorageGiB: 1,
      maxAllocatedStorageGiB: 2,
    });
    declared.cache.nodeType = "cache.t4g.micro";
    declared.cache.replicas = 0;
    expect(await deployed(declared, prodStack())).toEqual(prod);
  });

  it("keeps the declared number wherever the resources leave one out", async () => {
    const stack = prodStack();
    const container = stack.deployment.spec.template.spec.containers[0]!;
    stack.deployment = mutate(stack.deployment, "spec.template.spec.containers.0", {
      ...container,
      resources: {},
      env: [
        { name: "DB_POOL_MAX", value: "0" },
        { name: "DB_REPLICA_POOL_MAX", value: "many" },
      ],
    });
    stack.hpa = mutate(stack.hpa, "spec.behavior", {});
    stack.pdb = mutate(stack.pdb, "spec.maxUnavailable", "50%");
    stack.nodePool = mutate(stack.nodePool, "spec.limits", {});
    stack.nodeGroup = {} as Stack["nodeGroup"];
    stack.primary = {} as Stack["primary"];
    stack.cache = {} as Stack["cache"];
    expect(await deployed(prod, stack)).toEqual(prod);
  });

  it("reads the app's container by name, else the first, and a cache's replicas per node group", async () => {
    const stack = prodStack();
    const app = stack.deployment.spec.template.spec.containers[0]!;
    const sidecar = {
      name: "sidecar",
      image: "sidecar",
      resources: { requests: { cpu: "50m", memory: "16Mi" } },
    };
    stack.deployment = mutate(stack.deployment, "spec.template.spec.containers", [sidecar, app]);
    stack.cache = { nodeType: prod.cache.nodeType, replicasPerNodeGroup: 4 } as unknown as Stack["cache"];
    const read = await deployed(prod, stack);
    expect(read.pods.cpuRequestMillicores).toBe(prod.pods.cpuRequestMillicores);
    expect(read.cache.replicas).toBe(4);

    const unnamed = prodStack();
    unnamed.deployment = mutate(unnamed.deployment, "spec.template.spec.containers.0.name", "web");
    unnamed.deployment = mutate(
      unnamed.deployment,
      "spec.template.spec.containers.0.resources.requests.cpu",
      "750m",
    );
    unnamed.hpa = mutate(unnamed.hpa, "spec.minReplicas", undefined);
    const first = await deployed(prod, unnamed);
    expect(first.pods.cpuRequestMillicores).toBe(750);
    // Kubernetes defaults an HPA's minReplicas to 1.
    expect(first.pods.minReplicas).toBe(1);
  });

  it("reads only the app's own HPA and PDB, and counts the primary apart from its replicas", async () => {
    const stack = prodStack();
    stack.hpa = mutate(stack.hpa, "metadata.name", "other");
    stack.pdb = mutate(stack.pdb, "metadata.name", "other");
    const declared = structuredClone(prod);
    declared.pods.maxReplicas = 12;
    declared.pdb.maxUnavailable = 2;
    const read = await deployed(declared, stack);
    expect(read.pods.maxReplicas).toBe(12);
    expect(read.pdb.maxUnavailable).toBe(2);
    expect(read.database.readReplicas).toBe(prod.database.readReplicas);

    // The replica listed first: the primary is still the instance without replicateSourceDb.
    const replicaFirst = prodStack();
    replicaFirst.replica = { ...replicaFirst.replica, instanceClass: "db.r7g.4xlarge" };
    expect((await deployed(prod, replicaFirst, { replicaFirst: true })).database.instanceClass).toBe(
      prod.database.instanceClass,
    );
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

  it("says so when no subnet carries the pod subnet tag", async () => {
    expect(
      await messages(scalingInvariants, resources(prodStack()), { stack: "prod", podSubnetTag: "other" }),
    ).toEqual(['No subnet carries the tag "other", so pod IP capacity cannot be checked.']);
  });

  it("a stack without a scaling policy is named", async () => {
    expect(await messages(scalingInvariants, resources(prodStack()))).toEqual([
      'Stack "test" has no scaling policy (known: prod, dev); set "stack" in the pack config.',
    ]);
    expect(stackOfUrn("urn:pulumi:prod::parley::aws:kms/key:Key::k")).toBe("prod");
  });
});
