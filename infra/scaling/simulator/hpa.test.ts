/**
 * The HPA model against the worked examples of the Kubernetes documentation, "Horizontal Pod
 * Autoscaling" (kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/):
 * the Algorithm details and the Configurable scaling behavior sections.
 */
import { describe, expect, it } from "vitest";
import type { HpaScalingRules } from "../policy";
import {
  defaultBehavior,
  type HpaBehavior,
  HpaController,
  type MetricObservation,
  replicasForMetric,
} from "./hpa";

const observe = (
  values: number[],
  target: number,
  extra: Partial<MetricObservation> = {},
): MetricObservation => ({
  kind: "pods",
  target,
  values,
  unready: 0,
  missing: 0,
  ...extra,
});

/** Reconciles every 15 s with a constant metric recommendation; returns the replicas after each sync. */
function run(
  behavior: HpaBehavior,
  start: number,
  recommendation: number,
  syncs: number,
  bounds = { min: 1, max: 100 },
) {
  const hpa = new HpaController({ minReplicas: bounds.min, maxReplicas: bounds.max, behavior });
  const replicas: number[] = [];
  let current = start;
  for (let i = 0; i < syncs; i++) {
    current = hpa.reconcile(i * 15, current, [recommendation]);
    replicas.push(current);
  }
  return replicas;
}

const withScaleDown = (scaleDown: Partial<HpaScalingRules>): HpaBehavior => ({
  scaleUp: defaultBehavior.scaleUp,
  scaleDown: { ...defaultBehavior.scaleDown, ...scaleDown },
});

describe("HPA algorithm details", () => {
  it("doubles the replicas when the metric is 200m against a 100m target", () => {
    expect(replicasForMetric(4, observe([0.2, 0.2, 0.2, 0.2], 0.1))).toBe(8);
  });

  it("halves the replicas when the metric is 50m against a 100m target", () => {
    expect(replicasForMetric(4, observe([0.05, 0.05, 0.05, 0.05], 0.1))).toBe(2);
  });

  it("skips scaling when the ratio is within the 0.1 tolerance", () => {
    expect(replicasForMetric(4, observe([0.109, 0.109, 0.109, 0.109], 0.1))).toBe(4);
    expect(replicasForMetric(4, observe([0.091, 0.091, 0.091, 0.091], 0.1))).toBe(4);
    expect(replicasForMetric(4, observe([0.12, 0.12, 0.12, 0.12], 0.1))).toBe(5);
  });

  it("takes the average across pods and rounds up", () => {
    // mean 150 / 100 = 1.5 × 3 pods = 4.5 → 5
    expect(replicasForMetric(3, observe([100, 150, 200], 100))).toBe(5);
  });

  it("on a scale-up assumes pods with missing metrics use 0% and not-yet-ready pods 0", () => {
    // 2 pods at 200% of a 100% target would double to 4; one missing pod counts as 0 → (200+200+0)/3 ⇒ ceil(1.33·3) = 4.
    expect(
      replicasForMetric(3, { kind: "resource", target: 100, values: [200, 200], unready: 0, missing: 1 }),
    ).toBe(4);
    // With two not-yet-ready pods: (200+200+0+0)/4 = 100% of target: within tolerance, no change.
    expect(
      replicasForMetric(4, { kind: "resource", target: 100, values: [200, 200], unready: 2, missing: 0 }),
    ).toBe(4);
  });

  it("on a scale-down assumes pods with missing metrics use 100% of the desired value", () => {
    // Two pods at 20% of a 50% target (ratio 0.4) and two missing at 100%: (20+20+100+100)/4 = 60% → ratio 1.2,
    // which would reverse the direction: no scaling.
    expect(
      replicasForMetric(4, { kind: "resource", target: 50, values: [20, 20], unready: 0, missing: 2 }),
    ).toBe(4);
    // A raw per-pod metric falls back to the target itself: (10+10+100)/3 = 40 → ratio 0.4 → ceil(0.4·3) = 2.
    expect(replicasForMetric(3, observe([10, 10], 100, { missing: 1 }))).toBe(2);
  });

  it("on a scale-up, not-yet-ready pods at 0 can reverse the direction: no change", () => {
    // 2 ready pods at 200% and 4 not yet ready: (200+200)/6 = 67% of the target, a scale-down by the
    // new ratio after a scale-up by the old one, so the replicas stay (replica_calculator.go).
    expect(
      replicasForMetric(2, { kind: "resource", target: 100, values: [200, 200], unready: 4, missing: 0 }),
    ).toBe(2);
    // Without the not-yet-ready pods the same samples double the replicas.
    expect(
      replicasForMetric(2, { kind: "resource", target: 100, values: [200, 200], unready: 0, missing: 0 }),
    ).toBe(4);
  });

  it("brings replicas outside the bounds back to them before reading any metric", () => {
    const hpa = () => new HpaController({ minReplicas: 2, maxReplicas: 5, behavior: defaultBehavior });
    expect(hpa().reconcile(0, 8, [8])).toBe(5);
    expect(hpa().reconcile(0, 1, [1])).toBe(2);
    expect(hpa().reconcile(0, 1, [undefined])).toBe(2);
    expect(hpa().reconcile(0, 3, [undefined, undefined])).toBe(3);
  });

  it("never turns a scale-down into a scale-up when the missing pods outnumber the current replicas", () => {
    // Two pods at 50% of a 100% target and two more running without samples (counted at 100%):
    // (50+50+100+100)/4 = 75% → ceil(0.75·4) = 3, more than the 2 current replicas: no change
    // (replica_calculator.go: newUsageRatio < 1.0 && newReplicas > currentReplicas).
    expect(
      replicasForMetric(2, { kind: "resource", target: 100, values: [50, 50], unready: 0, missing: 2 }),
    ).toBe(2);
  });

  it("ignores a metric with no samples and takes the largest recommendation across metrics", () => {
    expect(replicasForMetric(3, observe([], 100))).toBeUndefined();
    const hpa = new HpaController({ minReplicas: 1, maxReplicas: 20, behavior: defaultBehavior });
    expect(hpa.reconcile(0, 4, [6, 3, 8])).toBe(8);
  });

  it("does not scale down while a metric cannot be read, but still scales up", () => {
    const hpa = new HpaController({
      minReplicas: 1,
      maxReplicas: 20,
      behavior: withScaleDown({ stabilizationWindowSeconds: 0 }),
    });
    expect(hpa.reconcile(0, 6, [2, undefined])).toBe(6);
    expect(hpa.reconcile(15, 6, [9, undefined])).toBe(9);
  });

  it("keeps the replicas within minReplicas and maxReplicas", () => {
    const hpa = new HpaController({
      minReplicas: 2,
      maxReplicas: 5,
      behavior: withScaleDown({ stabilizationWindowSeconds: 0 }),
    });
    expect(hpa.reconcile(0, 4, [40])).toBe(5);
    expect(hpa.reconcile(15, 5, [1])).toBe(2);
  });
});

describe("HPA configurable scaling behavior", () => {
  it("scaling policies: 80 → 10 with Pods 4/60s and Percent 10/60s removes 8, then 8, then 4 at a time below 40", () => {
    const behavior = withScaleDown({
      stabilizationWindowSeconds: 0,
      policies: [
        { type: "Pods", value: 4, periodSeconds: 60 },
        { type: "Percent", value: 10, periodSeconds: 60 },
      ],
    });
    const replicas = run(behavior, 80, 10, 60);
    // A step per 60 s period (every fourth 15 s sync).
    const steps = [80, ...replicas.filter((_, i) => i % 4 === 0)];
    expect(steps.slice(0, 3)).toEqual([80, 72, 64]);
    const changes = steps.slice(1).map((value, i) => steps[i] - value);
    const belowForty = changes.filter((_, i) => steps[i] < 40 && steps[i + 1] > 10);
    expect(belowForty.length).toBeGreaterThan(3);
    expect(belowForty.every((change) => change === 4)).toBe(true);
    expect(replicas.at(-1)).toBe(10);
  });

  it("selectPolicy Min: Percent 10/60s with Pods 5/60s removes no more than 5 pods per minute", () => {
    const behavior = withScaleDown({
      stabilizationWindowSeconds: 0,
      selectPolicy: "Min",
      policies: [
        { type: "Percent", value: 10, periodSeconds: 60 },
        { type: "Pods", value: 5, periodSeconds: 60 },
      ],
    });
    const replicas = run(behavior, 80, 10, 8);
    expect(replicas).toEqual([75, 75, 75, 75, 70, 70, 70, 70]);
  });

  it("limit scale down rate: Percent 10/60s removes at most 10% per minute", () => {
    const behavior = withScaleDown({
      stabilizationWindowSeconds: 0,
      policies: [{ type: "Percent", value: 10, periodSeconds: 60 }],
    });
    const replicas = run(behavior, 50, 10, 9);
    expect(replicas).toEqual([45, 45, 45, 45, 40, 40, 40, 40, 36]);
  });

  it("disable scale down: selectPolicy Disabled never removes pods, scale-up still works", () => {
    const behavior = withScaleDown({ selectPolicy: "Disabled", stabilizationWindowSeconds: 0 });
    expect(run(behavior, 10, 2, 40).every((r) => r === 10)).toBe(true);
    expect(run(behavior, 10, 20, 1)).toEqual([20]);
  });

  it("default behavior: scale up by 100% or 4 pods per 15 s, whichever is more, with no stabilization", () => {
    expect(run(defaultBehavior, 1, 30, 4)).toEqual([5, 10, 20, 30]);
  });

  it("a Percent scale-up policy rounds the allowed replicas up (calculateScaleUpLimitWithScalingRules uses math.Ceil)", () => {
    // 3 pods + 50% = 4.5 → 5 allowed in the period; rounding down would allow only 4.
    const behavior: HpaBehavior = {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: "Max",
        policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
      },
      scaleDown: defaultBehavior.scaleDown,
    };
    expect(run(behavior, 3, 20, 1)).toEqual([5]);
    // 5 + 50% = 7.5 → 8 a minute later (events older than the period no longer count).
    const hpa = new HpaController({ minReplicas: 1, maxReplicas: 100, behavior });
    expect(hpa.reconcile(0, 3, [20])).toBe(5);
    expect(hpa.reconcile(15, 5, [20])).toBe(5);
    expect(hpa.reconcile(75, 5, [20])).toBe(8);
  });

  it("a Percent scale-down policy rounds the replicas kept down (math.Trunc of the period start × (1 − percent))", () => {
    // 9 pods − 50% = 4.5 → 4 kept.
    const behavior = withScaleDown({
      stabilizationWindowSeconds: 0,
      policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
    });
    expect(run(behavior, 9, 1, 1)).toEqual([4]);
  });

  it("default behavior: scale down to the highest recommendation of the last 300 s, then all at once", () => {
    const hpa = new HpaController({ minReplicas: 1, maxReplicas: 100, behavior: defaultBehavior });
    let current = hpa.reconcile(0, 10, [10]);
    const trace: number[] = [];
    for (let t = 15; t <= 330; t += 15) {
      current = hpa.reconcile(t, current, [2]);
      trace.push(current);
    }
    // The recommendation of 10 at t=0 holds the replicas through t=285; at t=300 it leaves the window
    // and the default policy (100% per 15 s) removes every surplus pod at once.
    expect(trace.slice(0, 19).every((r) => r === 10)).toBe(true);
    expect(trace[19]).toBe(2);
  });

  it("change downscale stabilization window: 60 s holds the highest recommendation for one minute", () => {
    const hpa = new HpaController({
      minReplicas: 1,
      maxReplicas: 100,
      behavior: withScaleDown({ stabilizationWindowSeconds: 60 }),
    });
    hpa.reconcile(0, 8, [8]);
    expect([15, 30, 45, 60].map((t) => hpa.reconcile(t, 8, [3]))).toEqual([8, 8, 8, 3]);
  });

  it("a scale-up stabilization window uses the lowest recommendation in the window", () => {
    const behavior: HpaBehavior = {
      ...defaultBehavior,
      scaleUp: { ...defaultBehavior.scaleUp, stabilizationWindowSeconds: 60 },
    };
    const hpa = new HpaController({ minReplicas: 1, maxReplicas: 100, behavior });
    hpa.reconcile(0, 4, [4]);
    expect([15, 30, 45, 60].map((t) => hpa.reconcile(t, 4, [8]))).toEqual([4, 4, 4, 8]);
  });
});
