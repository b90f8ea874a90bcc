import { describe, expect, it } from "vitest";
import { podServiceRate, requestsPerSecondPerCore, sloRatePerPod } from "../capacity";
import { nodesForPods } from "../nodes";
import { type ScalingPolicy, scalingPolicyFor } from "../policy";
import { summarize, verdict } from "./evaluate";
import { scenario, scenarioNames } from "./scenarios";
import { simulate } from "./simulate";

const runs = new Map<string, ReturnType<typeof runOnce>>();

function runOnce(policy: ScalingPolicy, name: (typeof scenarioNames)[number]) {
  const result = simulate(policy, scenario(name));
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
  it("derives a pod's rate from the measured Express 5 + pg ceiling (11k req/s on 2 cores) and a 10× work multiple", () => {
    expect(requestsPerSecondPerCore).toBe(550);
    expect(podServiceRate(scalingPolicyFor("prod"))).toBe(275);
    expect(sloRatePerPod(scalingPolicyFor("prod"))).toBeCloseTo(257.9, 1);
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

describe("weak policies are reported as failing, with the reason", () => {
  it("max 4 replicas: the HPA is pinned at its maximum at the spike's peak", () => {
    const { verdict: outcome } = evaluate(
      prodWith((p) => (p.pods.maxReplicas = 4)),
      "spike",
    );
    expect(outcome.pass).toBe(false);
    expect(outcome.reasons).toContain(
      "prod/spike: 1000 req/s needs 7 replicas at the HPA target (150 req/s per pod), but maxReplicas is 4: the HPA would be pinned at its maximum",
    );
  });

  it("max 4 replicas: the growth plan's 10,000 users cannot be served", () => {
    const { verdict: outcome } = evaluate(
      prodWith((p) => (p.pods.maxReplicas = 4)),
      "growth",
    );
    expect(outcome.reasons[0]).toMatch(
      /^prod\/growth: 10000 req\/s needs \d+ ready pods for p95 ≤ 200 ms, but maxReplicas is 4$/,
    );
  });

  it("a 10-minute scale-up stabilization window: capacity and p95 recover too late", () => {
    const { verdict: outcome, summary } = evaluate(
      prodWith((p) => (p.hpa.scaleUp.stabilizationWindowSeconds = 600)),
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
      prodWith((p) => (p.hpa.scaleDown.stabilizationWindowSeconds = 600)),
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
      prodWith((p) => (p.nodes.karpenter.cpuLimitCores = 6)),
      "spike",
    );
    expect(result.nodeLimitSeconds).toBeGreaterThan(0);
    expect(
      outcome.reasons.some((r) => r.includes("waited") && r.includes("NodePool limits (6 cores, 256 GiB)")),
    ).toBe(true);
  });
});
