/**
 * A model of the HorizontalPodAutoscaler controller (kube-controller-manager, autoscaling/v2),
 * following pkg/controller/podautoscaler: replica_calculator.go (per-metric recommendation with
 * tolerance, missing and not-yet-ready pods) and horizontal.go (max over metrics, stabilization
 * windows, scaling policies with selectPolicy Max/Min/Disabled, scale events per period).
 * Time is in seconds.
 */
import type { HpaScalingRules } from "../policy";

/** The controller's defaults: --horizontal-pod-autoscaler-sync-period and -tolerance. */
export const hpaSyncPeriodSeconds = 15;
export const hpaTolerance = 0.1;

/** What the controller sees of one metric for the scale target's pods. */
export interface MetricObservation {
  /** `resource`: utilization in percent of the request; `pods`: a raw per-pod value. */
  kind: "resource" | "pods";
  /** averageUtilization (percent) or averageValue. */
  target: number;
  /** Values of the pods that are ready and have a usable sample. */
  values: number[];
  /** Pods set aside as not yet ready (pending, or — for CPU — unready / sampled before ready). */
  unready: number;
  /** Running pods without a sample. */
  missing: number;
}

function usageRatio(values: number[], target: number): number {
  const sum = values.reduce((a, b) => a + b, 0);
  return sum / values.length / target;
}

/**
 * The replica count one metric recommends (GetResourceReplicas / calcPlainMetricReplicas), or
 * undefined when no pod has a sample (the controller reports an error and skips the metric).
 */
export function replicasForMetric(
  currentReplicas: number,
  observation: MetricObservation,
  tolerance = hpaTolerance,
): number | undefined {
  const { values, target, unready, missing } = observation;
  if (values.length === 0) return undefined;
  const ratio = usageRatio(values, target);
  const scaleUpWithUnready = unready > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing === 0) {
    if (Math.abs(1 - ratio) <= tolerance) return currentReplicas;
    return Math.ceil(ratio * values.length);
  }
  // Missing samples count as 100% of the target (resource: max(100%, target)) on a scale-down and
  // 0 on a scale-up; not-yet-ready pods count as 0 on a scale-up. This dampens the change.
  const filled = [...values];
  if (missing > 0) {
    const fallback = ratio < 1 ? (observation.kind === "resource" ? Math.max(100, target) : target) : 0;
    if (ratio !== 1) for (let i = 0; i < missing; i++) filled.push(fallback);
  }
  if (scaleUpWithUnready) for (let i = 0; i < unready; i++) filled.push(0);
  const newRatio = usageRatio(filled, target);
  if (Math.abs(1 - newRatio) <= tolerance || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) {
    return currentReplicas;
  }
  const replicas = Math.ceil(newRatio * filled.length);
  if ((newRatio < 1 && replicas > currentReplicas) || (newRatio > 1 && replicas < currentReplicas)) {
    return currentReplicas;
  }
  return replicas;
}

interface TimedValue {
  at: number;
  value: number;
}

export interface HpaBehavior {
  scaleUp: HpaScalingRules;
  scaleDown: HpaScalingRules;
}

/** The API's defaults for an HPA with no `behavior` (documented under "Default behavior"). */
export const defaultBehavior: HpaBehavior = {
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Percent", value: 100, periodSeconds: 15 },
      { type: "Pods", value: 4, periodSeconds: 15 },
    ],
  },
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: "Max",
    policies: [{ type: "Percent", value: 100, periodSeconds: 15 }],
  },
};

export interface HpaBounds {
  minReplicas: number;
  maxReplicas: number;
  behavior: HpaBehavior;
}

/** Replicas added (or removed) by events strictly newer than `now − period` (getReplicasChangePerPeriod). */
function changeInPeriod(events: TimedValue[], now: number, periodSeconds: number): number {
  const cutoff = now - periodSeconds;
  return events.filter((event) => event.at > cutoff).reduce((sum, event) => sum + event.value, 0);
}

/** One HPA object's controller state: its recommendations and scale events. */
export class HpaController {
  private readonly recommendations: TimedValue[] = [];
  private readonly scaleUpEvents: TimedValue[] = [];
  private readonly scaleDownEvents: TimedValue[] = [];

  constructor(private readonly bounds: HpaBounds) {}

  /**
   * One reconcile at `now`: the metrics' recommendations (undefined = metric unavailable) become the
   * new desired replica count, which the caller applies to the Deployment.
   */
  reconcile(now: number, currentReplicas: number, recommendations: Array<number | undefined>): number {
    const { minReplicas, maxReplicas } = this.bounds;
    let desired: number;
    if (currentReplicas > maxReplicas) desired = maxReplicas;
    else if (currentReplicas < minReplicas) desired = minReplicas;
    else {
      const valid = recommendations.filter((value): value is number => value !== undefined);
      if (valid.length === 0) return currentReplicas;
      const proposal = Math.max(...valid);
      // With a metric missing, the controller still scales up but never down.
      if (valid.length < recommendations.length && proposal < currentReplicas) return currentReplicas;
      desired = this.normalize(now, currentReplicas, proposal);
    }
    if (desired !== currentReplicas) this.recordScaleEvent(now, desired - currentReplicas);
    return desired;
  }

  /** normalizeDesiredReplicasWithBehaviors: stabilize, then limit the rate of change. */
  private normalize(now: number, current: number, proposal: number): number {
    const stabilized = this.stabilize(now, current, proposal);
    return this.limitRate(now, current, stabilized);
  }

  /** stabilizeRecommendationWithBehaviors. */
  private stabilize(now: number, current: number, proposal: number): number {
    const { scaleUp, scaleDown } = this.bounds.behavior;
    const upCutoff = now - scaleUp.stabilizationWindowSeconds;
    const downCutoff = now - scaleDown.stabilizationWindowSeconds;
    let upRecommendation = proposal;
    let downRecommendation = proposal;
    let oldSample = -1;
    this.recommendations.forEach((rec, index) => {
      if (rec.at > upCutoff) upRecommendation = Math.min(rec.value, upRecommendation);
      if (rec.at > downCutoff) downRecommendation = Math.max(rec.value, downRecommendation);
      if (rec.at < upCutoff && rec.at < downCutoff) oldSample = index;
    });
    let recommendation = current;
    if (recommendation < upRecommendation) recommendation = upRecommendation;
    if (recommendation > downRecommendation) recommendation = downRecommendation;
    const sample = { at: now, value: proposal };
    if (oldSample >= 0) this.recommendations[oldSample] = sample;
    else this.recommendations.push(sample);
    return recommendation;
  }

  /** convertDesiredReplicasWithBehaviorRate. */
  private limitRate(now: number, current: number, desired: number): number {
    const { minReplicas, maxReplicas, behavior } = this.bounds;
    if (desired > current) {
      const limit = Math.max(this.scaleLimit(now, current, behavior.scaleUp, "up"), current);
      return Math.min(desired, Math.min(maxReplicas, limit));
    }
    if (desired < current) {
      const limit = Math.min(this.scaleLimit(now, current, behavior.scaleDown, "down"), current);
      return Math.max(desired, Math.max(minReplicas, limit));
    }
    return desired;
  }

  /** calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors. */
  private scaleLimit(now: number, current: number, rules: HpaScalingRules, direction: "up" | "down"): number {
    if (rules.selectPolicy === "Disabled") return current;
    // Max picks the policy allowing the biggest change, Min the smallest.
    const biggest = rules.selectPolicy === "Max";
    const pick = direction === "up" ? (biggest ? Math.max : Math.min) : biggest ? Math.min : Math.max;
    let result = direction === "up" ? (biggest ? -Infinity : Infinity) : biggest ? Infinity : -Infinity;
    for (const policy of rules.policies) {
      const added = changeInPeriod(this.scaleUpEvents, now, policy.periodSeconds);
      const removed = changeInPeriod(this.scaleDownEvents, now, policy.periodSeconds);
      const periodStart = current - added + removed;
      let proposed: number;
      if (direction === "up") {
        proposed =
          policy.type === "Pods"
            ? periodStart + policy.value
            : Math.ceil(periodStart * (1 + policy.value / 100));
      } else {
        proposed =
          policy.type === "Pods"
            ? periodStart - policy.value
            : Math.trunc(periodStart * (1 - policy.value / 100));
      }
      result = pick(result, proposed);
    }
    return result;
  }

  /** storeScaleEvent: keeps events for the longest policy period. */
  private recordScaleEvent(now: number, change: number): void {
    const { scaleUp, scaleDown } = this.bounds.behavior;
    const longest = Math.max(...[...scaleUp.policies, ...scaleDown.policies].map((p) => p.periodSeconds), 0);
    for (const events of [this.scaleUpEvents, this.scaleDownEvents]) {
      const keep = events.filter((event) => event.at > now - longest);
      events.splice(0, events.length, ...keep);
    }
    if (change > 0) this.scaleUpEvents.push({ at: now, value: change });
    else this.scaleDownEvents.push({ at: now, value: -change });
  }
}
