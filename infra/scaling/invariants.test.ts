import { describe, expect, it } from "vitest";
import { stackNames } from "../../contracts/stacks";
import { hpaTargetRatePerPod, requestsPerSecondPerUser, sloRatePerPod } from "./capacity";
import {
  assertScalingInvariants,
  checkScalingInvariants,
  type ScalingContext,
  subnetIpCapacity,
} from "./invariants";
import { type ScalingPolicy, scalingPolicyFor } from "./policy";
import { spikeOf } from "./simulator/scenarios";

/** A /16 VPC whose private quarter per AZ (/18) holds nodes and pods, as the network plans it. */
const context: ScalingContext = {
  availabilityZones: 3,
  podSubnets: [
    { availabilityZone: "us-east-1a", cidrBlock: "10.0.0.0/18" },
    { availabilityZone: "us-east-1b", cidrBlock: "10.0.64.0/18" },
    { availabilityZone: "us-east-1c", cidrBlock: "10.0.128.0/18" },
  ],
};

/** A copy of prod with some fields changed. */
function prodWith(change: (policy: ScalingPolicy) => void): ScalingPolicy {
  const policy = structuredClone(scalingPolicyFor("prod"));
  change(policy);
  return policy;
}

function violations(policy: ScalingPolicy, ctx: ScalingContext = context) {
  return checkScalingInvariants(policy, ctx);
}

describe("scaling invariants", () => {
  for (const stack of stackNames) {
    it(`${stack}: holds in its stack's context`, () => {
      expect(violations(scalingPolicyFor(stack))).toEqual([]);
      expect(() => assertScalingInvariants(scalingPolicyFor(stack), context)).not.toThrow();
    });
  }

  it("pod-bounds: min above max, or a request above its limit", () => {
    const found = violations(
      prodWith((p) => {
        p.pods.minReplicas = 90;
        p.pods.cpuRequestMillicores = 1500;
      }),
    );
    expect(found.filter((v) => v.invariant === "pod-bounds").map((v) => v.message)).toEqual([
      "minReplicas 90 must be between 1 and maxReplicas 80",
      "CPU request 1500m exceeds its limit 1000m",
    ]);
  });

  it("pod-bounds: a memory request above its limit (the pod would be OOM-killed below its own request)", () => {
    const found = violations(prodWith((p) => (p.pods.memoryRequestMiB = p.pods.memoryLimitMiB + 1)));
    const limit = scalingPolicyFor("prod").pods.memoryLimitMiB;
    expect(found.filter((v) => v.invariant === "pod-bounds").map((v) => v.message)).toEqual([
      `memory request ${limit + 1}Mi exceeds its limit ${limit}Mi`,
    ]);
  });

  it("pod-bounds: requests equal to their limits (Guaranteed QoS) and min = max replicas are fine; 0 replicas is not", () => {
    const guaranteed = prodWith((p) => {
      p.pods.memoryRequestMiB = p.pods.memoryLimitMiB;
      p.pods.cpuRequestMillicores = p.pods.cpuLimitMillicores;
      p.pods.minReplicas = p.pods.maxReplicas;
    });
    expect(violations(guaranteed).filter((v) => v.invariant === "pod-bounds")).toEqual([]);
    const none = violations(prodWith((p) => (p.pods.minReplicas = 0)));
    expect(none.filter((v) => v.invariant === "pod-bounds").map((v) => v.message)).toEqual([
      "minReplicas 0 must be between 1 and maxReplicas 80",
    ]);
  });

  it("memory-leaves-scaling-to-load: a memory request the measured pod fills to the memory target", () => {
    const prod = scalingPolicyFor("prod");
    const { baseMiB, miBPerRequestPerSecond } = prod.capacity.memory;
    const usedMiB = baseMiB + miBPerRequestPerSecond * hpaTargetRatePerPod(prod);
    // 80% less the HPA's 10% tolerance: 72% of the request is where memory starts to hold replicas.
    const atCeiling = Math.floor(usedMiB / 0.72);
    const found = violations(prodWith((p) => (p.pods.memoryRequestMiB = atCeiling)));
    expect(
      found.filter((v) => v.invariant === "memory-leaves-scaling-to-load").map((v) => v.message),
    ).toEqual([
      expect.stringMatching(
        new RegExp(
          `^at the HPA's target of \\d+ req/s a pod uses \\d+ MiB \\(measured\\), 72% of its ${atCeiling}Mi request: not below the 80% memory target less the HPA's 10% tolerance \\(72%\\), so memory alone would hold replicas the load does not need$`,
        ),
      ),
    ]);
    const above = violations(prodWith((p) => (p.pods.memoryRequestMiB = atCeiling + 2)));
    expect(above.filter((v) => v.invariant === "memory-leaves-scaling-to-load")).toEqual([]);
  });

  it("db-connection-budget: max pods × pool size + reserve must fit each instance's max_connections", () => {
    const found = violations(
      prodWith((p) => {
        p.database.poolMaxPerPod = { primary: 25, replica: 10 };
      }),
    );
    expect(found).toEqual([
      {
        invariant: "db-connection-budget",
        message:
          "primary: 80 pods × 25 connections + 50 reserved = 2050 exceeds max_connections 1802 of db.r7g.large",
      },
    ]);
    const smallReplica = violations(prodWith((p) => (p.database.instanceClass = "db.t4g.medium")));
    expect(smallReplica.map((v) => v.message)).toContain(
      "each read replica: 80 pods × 10 connections + 50 reserved = 850 exceeds max_connections 450 of db.t4g.medium",
    );
  });

  it("node-pool-fits-max-pods: max pods' requests must fit the NodePool limits", () => {
    const found = violations(prodWith((p) => (p.nodes.karpenter.cpuLimitCores = 16)));
    expect(found).toHaveLength(1);
    expect(found[0].invariant).toBe("node-pool-fits-max-pods");
    expect(found[0].message).toMatch(
      /^80 pods × 500m\/512Mi need \d+ nodes \(\d+ vCPU, \d+ GiB\) but the NodePool is limited to 16 cores and 256 GiB$/,
    );
  });

  it("pdb-allows-drain: maxUnavailable 0 blocks every node drain", () => {
    expect(violations(prodWith((p) => (p.pdb.maxUnavailable = 0)))).toEqual([
      {
        invariant: "pdb-allows-drain",
        message: "at 3 replicas the PDB (maxUnavailable 0) allows 0 evictions, so no node can drain",
      },
    ]);
  });

  it("pdb-keeps-serving: maxUnavailable at min replicas may not take every pod", () => {
    expect(violations(prodWith((p) => (p.pdb.maxUnavailable = 3)))).toEqual([
      {
        invariant: "pdb-keeps-serving",
        message: "the PDB's maxUnavailable 3 lets all 3 pods at min replicas be evicted at once",
      },
    ]);
  });

  it("min-replicas-per-zone: prod runs at least one pod per AZ", () => {
    const found = violations(prodWith((p) => (p.pods.minReplicas = 2)));
    expect(found.filter((v) => v.invariant === "min-replicas-per-zone")).toEqual([
      {
        invariant: "min-replicas-per-zone",
        message: "minReplicas 2 is below the 3 AZs: some AZ would run no pod",
      },
    ]);
    // dev runs 2 pods over 3 AZs by design.
    expect(violations(scalingPolicyFor("dev")).some((v) => v.invariant === "min-replicas-per-zone")).toBe(
      false,
    );
  });

  it("zone-count-matches: the policy's AZs are the config's", () => {
    const twoZones = { ...context, availabilityZones: 2, podSubnets: context.podSubnets.slice(0, 2) };
    expect(violations(scalingPolicyFor("prod"), twoZones)).toContainEqual({
      invariant: "zone-count-matches",
      message: "the scaling policy assumes 3 AZs but the stack config has 2",
    });
  });

  it("subnet-ip-capacity: each AZ's pod subnets hold the IPs of max scale", () => {
    const small: ScalingContext = {
      availabilityZones: 3,
      podSubnets: [
        { availabilityZone: "us-east-1a", cidrBlock: "10.0.0.0/26" },
        { availabilityZone: "us-east-1b", ipCapacity: 5000 },
      ],
    };
    const found = violations(scalingPolicyFor("prod"), small).filter(
      (v) => v.invariant === "subnet-ip-capacity",
    );
    expect(found.map((v) => v.message)).toEqual([
      "pod subnets cover 2 AZs but pods spread over 3",
      expect.stringMatching(/^us-east-1a: pod subnets hold 59 IPs but \d+ are needed at 80 replicas/),
    ]);
    expect(subnetIpCapacity("10.0.0.0/18")).toBe(16379);
    expect(() => subnetIpCapacity("10.0.0.0/33")).toThrow(/not an IPv4 block/);
  });

  // The objectives' 1000 users as a spike (simulator/scenarios.ts): never fewer users, and as many
  // pods' worth as at the rate the scenarios were sized for, whatever the measured capacity.
  const spike = spikeOf(scalingPolicyFor("prod"), 1000);
  const peak = Math.max(...Array.from({ length: spike.durationSeconds }, (_, t) => spike.users(t)));
  const peakUsers = Math.round(peak);
  const peakRps = Math.round(peak * requestsPerSecondPerUser);

  it("reaches-peak-in-time: a weak policy (max 4 replicas) cannot serve the peak", () => {
    const weak = prodWith((p) => (p.pods.maxReplicas = 4));
    const found = violations(weak).filter((v) => v.invariant === "reaches-peak-in-time");
    const slo = Math.ceil((peak * requestsPerSecondPerUser) / sloRatePerPod(weak));
    const target = hpaTargetRatePerPod(weak);
    expect(found.map((v) => v.message)).toEqual([
      slo > 4
        ? `a spike of ${peakUsers} users (${peakRps} req/s) needs ${slo} ready pods for p95 ≤ 200 ms, but maxReplicas is 4`
        : `a spike of ${peakUsers} users (${peakRps} req/s) needs ${Math.ceil((peak * requestsPerSecondPerUser) / target)} replicas at the HPA target (${Math.round(target)} req/s per pod), but maxReplicas is 4`,
    ]);
    expect(peakUsers).toBeGreaterThanOrEqual(1000);
  });

  it("reaches-peak-in-time: a weak policy (10-minute scale-up window) is too slow", () => {
    const found = violations(prodWith((p) => (p.hpa.scaleUp.stabilizationWindowSeconds = 600)));
    expect(found).toHaveLength(1);
    expect(found[0].invariant).toBe("reaches-peak-in-time");
    expect(found[0].message).toMatch(
      new RegExp(
        `^a spike of ${peakUsers} users \\(${peakRps} req/s\\) reaches the \\d+ pods it needs after \\d+ s, over the 120 s scale-up objective$`,
      ),
    );
  });

  it("reports data it cannot judge as a violation instead of throwing", () => {
    const found = violations(
      prodWith((p) => (p.database.instanceClass = "db.x9.huge")),
      {
        ...context,
        podSubnets: [...context.podSubnets, { availabilityZone: "us-east-1a" }],
      },
    );
    expect(found.map((v) => v.invariant)).toEqual(["db-connection-budget", "subnet-ip-capacity"]);
    expect(found[0].message).toMatch(/^cannot be checked: unknown RDS instance class "db.x9.huge"/);
    expect(found[1].message).toBe(
      "cannot be checked: pod subnet in us-east-1a has neither ipCapacity nor cidrBlock",
    );
  });

  it("assertScalingInvariants throws with every message", () => {
    const weak = prodWith((p) => {
      p.pods.maxReplicas = 4;
      p.pdb.maxUnavailable = 0;
    });
    expect(() => assertScalingInvariants(weak, context)).toThrow(
      /scaling policy "prod" breaks 2 invariant\(s\):\n {2}- \[pdb-allows-drain\] .*\n {2}- \[reaches-peak-in-time\] .*maxReplicas is 4/,
    );
  });
});
