import { describe, expect, it } from "vitest";
import { hpaTargetRatePerPod, podServiceRate, sloRatePerPod } from "../capacity";
import { readMeasuredCapacity } from "../measured-capacity";
import { nodesForPods } from "../nodes";
import { requestRateTarget, requestRateTargetShare, type ScalingPolicy, scalingPolicyFor } from "../policy";
import { summarize, verdict } from "./evaluate";
import { scenario, scenarioNames, sizedAtRequestsPerSecondPerCore } from "./scenarios";
import { simulate } from "./simulate";

const runs = new Map<string, ReturnType<typeof runOnce>>();

function runOnce(policy: ScalingPolicy, name: (typeof scenarioNames)[number]) {
  const result = simulate(policy, scenario(name, policy));
  const summary = summarize(policy, result);
  return { result, summary, verdict: verdict(policy, summary, result) };
}

/** Runs are deterministic: the stock policies' runs are shared between tests. */
function evaluate(policy: ScalingPolicy, name: (typeof scenarioNames)[number]) {
  if (policy !== scalingPolicyFor(policy.stack)) return runOnce(policy, name);
  const key = `${policy.stack}/${name}`;
  const run = runs.get(key) ?? runOnce(policy, name);
  runs.set(key, run);
  return run;
}

function prodWith(change: (policy: ScalingPolicy) => void): ScalingPolicy {
  const policy = structuredClone(scalingPolicyFor("prod"));
  change(policy);
  return policy;
}

describe("capacity model calibration", () => {
  it("takes a pod's rate from the measured per-core rate (capacity-measurement.json) at its CPU request", () => {
    const prod = scalingPolicyFor("prod");
    const measured = readMeasuredCapacity().requestsPerSecondPerCore;
    expect(prod.capacity.requestsPerSecondPerCore).toBe(measured);
    expect(scalingPolicyFor("dev").capacity.requestsPerSecondPerCore).toBe(measured);
    expect(podServiceRate(prod)).toBe(measured / 2);
    // M/M/1: the p95 sojourn ln(20)/(μ−λ) must fit the 200 ms objective less the 25 ms floor.
    expect(sloRatePerPod(prod)).toBeCloseTo(measured / 2 - Math.log(20) / 0.175, 6);
    expect(prod.hpa.targetRequestsPerSecondPerPod).toBe(Math.floor(requestRateTargetShare * (measured / 2)));
  });
});

describe("the prod policy", () => {
  const prod = scalingPolicyFor("prod");

  for (const name of scenarioNames) {
    it(`meets the objectives in the ${name} scenario`, () => {
      const { summary, verdict: outcome } = evaluate(prod, name);
      expect(outcome.reasons).toEqual([]);
      expect(summary.timeToCapacitySeconds).toBeLessThanOrEqual(prod.objectives.scaleUpSeconds);
      expect(summary.scaleDownSeconds).toBeLessThanOrEqual(prod.objectives.scaleDownSeconds);
      expect(summary.failedRequests).toBe(0);
    });
  }

  it("spike: the HPA acts only on 15 s syncs, new pods serve after their start-up, Karpenter adds nodes and removes them", () => {
    const { result } = evaluate(prod, "spike");
    const samples = result.samples;
    for (let i = 1; i < samples.length; i++) {
      if (samples[i].replicas !== samples[i - 1].replicas && samples[i].replicas > samples[i - 1].replicas) {
        expect(samples[i].t % 15).toBe(0);
      }
    }
    const firstScaleUp = samples.find((s) => s.replicas > prod.pods.minReplicas);
    const firstReady = samples.find((s) => s.readyPods > prod.pods.minReplicas);
    expect(firstScaleUp && firstReady).toBeTruthy();
    expect((firstReady?.t ?? 0) - (firstScaleUp?.t ?? 0)).toBeGreaterThanOrEqual(prod.pods.startupSeconds);
    const nodes = samples.map((s) => s.nodes);
    expect(Math.max(...nodes)).toBeGreaterThan(nodes[0]);
    expect(nodes.at(-1)).toBe(nodes[0]);
    expect(samples.at(-1)?.replicas).toBe(prod.pods.minReplicas);
  });
});

describe("Karpenter in the simulator", () => {
  it("consolidates the growth plan's peak onto close to the cheapest packing of its pods", () => {
    const prod = scalingPolicyFor("prod");
    const { result } = evaluate(prod, "growth");
    const lastPeak = result.samples.find((s) => s.t === 11 * 86400 + 16 * 3600);
    expect(lastPeak).toBeDefined();
    const cheapest = nodesForPods(prod, lastPeak?.replicas ?? 0).length;
    expect(lastPeak?.nodes).toBeLessThanOrEqual(cheapest + prod.availabilityZones);
  });
});

/** `policy` as derived from a measurement of `requestsPerSecondPerCore` (its HPA target follows). */
function atCapacity(policy: ScalingPolicy, requestsPerSecondPerCore: number): ScalingPolicy {
  const copy = structuredClone(policy);
  copy.capacity = { ...copy.capacity, requestsPerSecondPerCore };
  copy.hpa.targetRequestsPerSecondPerPod = requestRateTarget(copy.pods.cpuRequestMillicores, copy.capacity);
  return copy;
}

const measuredPerCore = readMeasuredCapacity().requestsPerSecondPerCore;
/**
 * The committed measurement, the rate the scenarios were sized at, four times it (a fast machine), and
 * half of it (a slow one, where the spike stays at the objectives' 1000 users: harder, not easier).
 */
const capacities = [
  ["measured", measuredPerCore],
  ["sized", sizedAtRequestsPerSecondPerCore],
  ["4× sized", 4 * sizedAtRequestsPerSecondPerCore],
  ["½ sized", sizedAtRequestsPerSecondPerCore / 2],
] as const;

describe("the scenarios stress a pod alike whatever the measured capacity", () => {
  const sized = atCapacity(scalingPolicyFor("prod"), sizedAtRequestsPerSecondPerCore);
  const reference = summarize(sized, simulate(sized, scenario("spike", sized)));

  it("at the sized rate the spike is the 1000 users arriving at 50/s it was written as", () => {
    const spike = scenario("spike", sized);
    expect(spike.description).toBe("1,000 users arriving at 50/s, hold 5 min, all leave at once");
    expect(reference.peakUsers).toBe(1000);
    expect(reference.peakTargetReplicas).toBe(7);
  });

  // Every capacity at or above the sized rate, the committed measurement among them when it is.
  const above = [2, 4, measuredPerCore / sizedAtRequestsPerSecondPerCore].filter((k) => k >= 1);
  for (const perCore of above.map((k) => k * sizedAtRequestsPerSecondPerCore)) {
    it(`at ${perCore} req/s per core the prod spike needs the pods it needs at the sized rate`, () => {
      const policy = atCapacity(scalingPolicyFor("prod"), perCore);
      const summary = summarize(policy, simulate(policy, scenario("spike", policy)));
      const scale = Math.max(1, perCore / sizedAtRequestsPerSecondPerCore);
      expect(summary.peakUsers).toBeCloseTo(1000 * scale, 6);
      expect(summary.peakTargetReplicas).toBe(reference.peakTargetReplicas);
      expect(summary.peakRequiredPods).toBeGreaterThanOrEqual(reference.peakRequiredPods);
      expect(Math.abs(summary.maxReplicas - reference.maxReplicas)).toBeLessThanOrEqual(1);
    });
  }

  it("below the sized rate the spike keeps the objectives' 1000 users, so it asks more pods, not fewer", () => {
    const policy = atCapacity(scalingPolicyFor("prod"), sizedAtRequestsPerSecondPerCore / 2);
    const summary = summarize(policy, simulate(policy, scenario("spike", policy)));
    expect(summary.peakUsers).toBe(1000);
    expect(summary.peakRequiredPods).toBeGreaterThan(reference.peakRequiredPods);
    expect(summary.peakTargetReplicas).toBeGreaterThan(reference.peakTargetReplicas);
  });
});

describe.each(capacities)(
  "weak policies are reported as failing, with the reason (%s capacity: %d req/s per core)",
  (_, perCore) => {
    const weak = (change: (policy: ScalingPolicy) => void) => atCapacity(prodWith(change), perCore);

    it("max 4 replicas: the spike's peak needs more pods than the HPA may run", () => {
      const policy = weak((p) => (p.pods.maxReplicas = 4));
      const { verdict: outcome, summary } = evaluate(policy, "spike");
      expect(outcome.pass).toBe(false);
      const rps = Math.round(summary.peakRps);
      expect(outcome.reasons).toContain(
        summary.peakRequiredPods > 4
          ? `prod/spike: ${rps} req/s needs ${summary.peakRequiredPods} ready pods for p95 ≤ 200 ms, but maxReplicas is 4`
          : `prod/spike: ${rps} req/s needs ${summary.peakTargetReplicas} replicas at the HPA target (${Math.round(hpaTargetRatePerPod(policy))} req/s per pod), but maxReplicas is 4: the HPA would be pinned at its maximum`,
      );
      expect(summary.peakTargetReplicas).toBeGreaterThanOrEqual(7);
    });

    it("max 4 replicas: the growth plan's peak cannot be served", () => {
      const { verdict: outcome, summary } = evaluate(
        weak((p) => (p.pods.maxReplicas = 4)),
        "growth",
      );
      expect(summary.peakUsers).toBeGreaterThanOrEqual(10_000);
      expect(outcome.reasons[0]).toBe(
        `prod/growth: ${Math.round(summary.peakRps)} req/s needs ${summary.peakRequiredPods} ready pods for p95 ≤ 200 ms, but maxReplicas is 4`,
      );
    });

    it("a 10-minute scale-up stabilization window: capacity and p95 recover too late", () => {
      const { verdict: outcome, summary } = evaluate(
        weak((p) => (p.hpa.scaleUp.stabilizationWindowSeconds = 600)),
        "spike",
      );
      expect(summary.timeToCapacitySeconds).toBeGreaterThan(120);
      expect(outcome.reasons).toContain(
        `prod/spike: ready pods stayed below the load's need for ${summary.timeToCapacitySeconds} s (scale-up objective 120 s)`,
      );
      expect(outcome.reasons.some((r) => r.startsWith("prod/spike: p95 stayed above 200 ms for"))).toBe(true);
    });

    it("a 10-minute scale-down window: replicas stay up long after the load left", () => {
      const { verdict: outcome } = evaluate(
        weak((p) => (p.hpa.scaleDown.stabilizationWindowSeconds = 600)),
        "spike",
      );
      expect(
        outcome.reasons.some((r) =>
          /^prod\/spike: scaling down after the load fell took .* \(objective 300 s\)$/.test(r),
        ),
      ).toBe(true);
    });

    it("a NodePool too small for the spike: pods wait on the limits", () => {
      const { verdict: outcome, result } = evaluate(
        weak((p) => (p.nodes.karpenter.cpuLimitCores = 6)),
        "spike",
      );
      expect(result.nodeLimitSeconds).toBeGreaterThan(0);
      expect(
        outcome.reasons.some((r) => r.includes("waited") && r.includes("NodePool limits (6 cores, 256 GiB)")),
      ).toBe(true);
    });
  },
);
