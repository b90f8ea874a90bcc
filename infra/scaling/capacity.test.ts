import { describe, expect, it } from "vitest";
import {
  baseP95LatencyMs,
  hpaTargetRatePerPod,
  maxModelledLatencyMs,
  podP95LatencyMs,
  podServiceRate,
  replicasAtTarget,
  replicasForSlo,
  sloRatePerPod,
} from "./capacity";
import { type ScalingPolicy, scalingPolicyFor } from "./policy";

/** p95 of an M/M/1 sojourn time: ln(20)/(μ−λ) seconds. */
const ln20 = Math.log(20);

/**
 * Prod with round figures, so every expectation below is worked by hand: μ = 0.5 core × 1000 req/s
 * per core = 500 req/s, a 200 ms objective (175 ms of queueing budget over the 25 ms floor).
 */
function policyWith(change: (policy: ScalingPolicy) => void = () => {}): ScalingPolicy {
  const policy = structuredClone(scalingPolicyFor("prod"));
  policy.capacity.requestsPerSecondPerCore = 1000;
  policy.pods.cpuRequestMillicores = 500;
  policy.objectives.p95LatencyMs = 200;
  change(policy);
  return policy;
}

describe("podServiceRate", () => {
  it("is the CPU request in cores times the measured rate per core", () => {
    expect(podServiceRate(policyWith())).toBe(500);
    expect(podServiceRate(policyWith((p) => (p.pods.cpuRequestMillicores = 250)))).toBe(250);
  });
});

describe("podP95LatencyMs", () => {
  it("is the floor plus M/M/1 queueing plus the backlog's wait", () => {
    const policy = policyWith();
    expect(baseP95LatencyMs).toBe(25);
    expect(podP95LatencyMs(policy, 400)).toBeCloseTo(25 + (1000 * ln20) / 100, 9);
    expect(podP95LatencyMs(policy, 400, 0.5)).toBeCloseTo(25 + (1000 * ln20) / 100 + 500, 9);
  });

  it("keeps 2% of μ as headroom at and past saturation, so the model stays finite", () => {
    const policy = policyWith();
    const atTwoPercent = 25 + (1000 * ln20) / 10;
    expect(podP95LatencyMs(policy, 495)).toBeCloseTo(atTwoPercent, 9);
    expect(podP95LatencyMs(policy, 600)).toBeCloseTo(atTwoPercent, 9);
    // With more than 2% of headroom the real gap is used: 100 req/s is not cut to 10.
    expect(podP95LatencyMs(policy, 400)).toBeLessThan(atTwoPercent);
  });

  it("caps p95 at the load balancer's cut-off", () => {
    expect(maxModelledLatencyMs).toBe(30_000);
    expect(podP95LatencyMs(policyWith(), 400, 100)).toBe(30_000);
    expect(podP95LatencyMs(policyWith(), 400, 29.9)).toBeCloseTo(25 + (1000 * ln20) / 100 + 29_900, 9);
  });
});

describe("sloRatePerPod", () => {
  it("leaves μ minus the queueing the objective allows: ln(20) / 0.175 s", () => {
    expect(sloRatePerPod(policyWith())).toBeCloseTo(500 - ln20 / 0.175, 9);
    expect(sloRatePerPod(policyWith((p) => (p.objectives.p95LatencyMs = 125)))).toBeCloseTo(
      500 - ln20 / 0.1,
      9,
    );
  });

  it("is 0 when the objective is at or under the latency floor, or no rate meets it", () => {
    expect(sloRatePerPod(policyWith((p) => (p.objectives.p95LatencyMs = 25)))).toBe(0);
    expect(sloRatePerPod(policyWith((p) => (p.objectives.p95LatencyMs = 20)))).toBe(0);
    // μ = 10 req/s cannot queue within 175 ms: 10 − 17.1 < 0.
    expect(sloRatePerPod(policyWith((p) => (p.pods.cpuRequestMillicores = 10)))).toBe(0);
  });
});

describe("replicasForSlo", () => {
  const perPod = 500 - ln20 / 0.175;

  it("rounds up to whole pods at the SLO rate per pod", () => {
    expect(replicasForSlo(policyWith(), perPod)).toBe(1);
    expect(replicasForSlo(policyWith(), perPod + 0.01)).toBe(2);
    expect(replicasForSlo(policyWith(), 1000)).toBe(3);
  });

  it("needs no pod for no traffic, and infinitely many when no pod meets the objective", () => {
    expect(replicasForSlo(policyWith(), 0)).toBe(0);
    expect(
      replicasForSlo(
        policyWith((p) => (p.objectives.p95LatencyMs = 20)),
        0,
      ),
    ).toBe(0);
    expect(
      replicasForSlo(
        policyWith((p) => (p.objectives.p95LatencyMs = 20)),
        1,
      ),
    ).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("hpaTargetRatePerPod and replicasAtTarget", () => {
  const withTargets = (requestsPerSecond: number, cpuPercent: number) =>
    policyWith((p) => {
      p.hpa.targetRequestsPerSecondPerPod = requestsPerSecond;
      p.hpa.targetCpuUtilizationPercent = cpuPercent;
      p.pods.minReplicas = 3;
      p.pods.maxReplicas = 10;
    });

  it("settles at the lower of the request-rate target and the rate at the CPU target", () => {
    // 70% of μ = 350 req/s.
    expect(hpaTargetRatePerPod(withTargets(300, 70))).toBe(300);
    expect(hpaTargetRatePerPod(withTargets(400, 70))).toBe(350);
  });

  it("holds ceil(rate / target) replicas within the policy's bounds", () => {
    const policy = withTargets(300, 70);
    expect(replicasAtTarget(policy, 1200)).toBe(4);
    expect(replicasAtTarget(policy, 1201)).toBe(5);
    expect(replicasAtTarget(policy, 0)).toBe(3);
    expect(replicasAtTarget(policy, 1_000_000)).toBe(10);
  });
});
