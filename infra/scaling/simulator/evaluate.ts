/** Summaries of a simulation run and its verdict against the policy's objectives. */
import { hpaTargetRatePerPod } from "../capacity";
import type { ScalingPolicy } from "../policy";
import type { Sample, SimulationResult } from "./simulate";

export interface RunSummary {
  scenario: string;
  stack: string;
  peakUsers: number;
  peakRps: number;
  maxReplicas: number;
  maxNodes: number;
  peakCpuUtilizationPercent: number;
  maxP95Ms: number;
  /** Minutes with modelled p95 above the objective. */
  minutesOutsideSlo: number;
  /** Longest run of seconds with p95 above the objective. */
  longestSloBreachSeconds: number;
  /** Longest run of seconds with fewer ready pods than the load needs within the p95 objective. */
  timeToCapacitySeconds: number;
  /** Longest time from a settle check until replicas came down to what the new load justifies. */
  scaleDownSeconds: number;
  /** Most ready pods the load needed within the p95 objective. */
  peakRequiredPods: number;
  /** Most replicas the load needed at the HPA's target (what the HPA asks for at the peak). */
  peakTargetReplicas: number;
  failedRequests: number;
  costUsd: number;
  /** The run's average hourly cost over a 730-hour month. */
  monthlyEquivalentUsd: number;
}

export interface Verdict {
  pass: boolean;
  reasons: string[];
}

/** Longest run of consecutive samples matching `predicate`, in seconds. */
function longestRun(samples: Sample[], step: number, predicate: (s: Sample) => boolean): number {
  let longest = 0;
  let current = 0;
  for (const sample of samples) {
    current = predicate(sample) ? current + step : 0;
    longest = Math.max(longest, current);
  }
  return longest;
}

/**
 * The most replicas the HPA may hold for a steady load: the target count, or what the 10%
 * tolerance lets it keep without scaling down.
 */
function justifiedReplicas(policy: ScalingPolicy, rps: number): number {
  const perPod = hpaTargetRatePerPod(policy);
  const justified = Math.max(Math.ceil(rps / perPod), Math.floor(rps / (0.9 * perPod)));
  return Math.min(Math.max(justified, policy.pods.minReplicas), policy.pods.maxReplicas);
}

function scaleDownSeconds(policy: ScalingPolicy, result: SimulationResult): number {
  const { samples, scenario } = result;
  const step = scenario.stepSeconds;
  let worst = 0;
  for (const check of scenario.settleChecks) {
    const from = Math.round(check / step);
    if (from >= samples.length) continue;
    const settled = samples
      .slice(from)
      .findIndex((s) => s.replicas <= justifiedReplicas(policy, s.offeredRps));
    worst = Math.max(worst, settled < 0 ? Number.POSITIVE_INFINITY : settled * step);
  }
  return worst;
}

export function summarize(policy: ScalingPolicy, result: SimulationResult): RunSummary {
  const { samples, scenario } = result;
  const step = scenario.stepSeconds;
  const objective = policy.objectives.p95LatencyMs;
  const max = (pick: (s: Sample) => number) => samples.reduce((m, s) => Math.max(m, pick(s)), 0);
  const breached = (s: Sample) => s.p95Ms > objective;
  const costUsd = samples.reduce((sum, s) => sum + (s.costPerHour * step) / 3600, 0);
  const hours = (samples.length * step) / 3600;
  return {
    scenario: scenario.name,
    stack: result.stack,
    peakUsers: max((s) => s.users),
    peakRps: max((s) => s.offeredRps),
    maxReplicas: max((s) => s.replicas),
    maxNodes: max((s) => s.nodes),
    peakCpuUtilizationPercent: max((s) => s.cpuUtilizationPercent),
    maxP95Ms: max((s) => s.p95Ms),
    minutesOutsideSlo: (samples.filter(breached).length * step) / 60,
    longestSloBreachSeconds: longestRun(samples, step, breached),
    timeToCapacitySeconds: longestRun(samples, step, (s) => s.readyPods < s.requiredPods),
    scaleDownSeconds: scaleDownSeconds(policy, result),
    peakRequiredPods: max((s) => s.requiredPods),
    peakTargetReplicas: Math.ceil(max((s) => s.offeredRps) / hpaTargetRatePerPod(policy)),
    failedRequests: Math.round(result.failedRequests),
    costUsd,
    monthlyEquivalentUsd: hours > 0 ? (costUsd / hours) * 730 : 0,
  };
}

/** Whether a run meets the policy's objectives, and why not. */
export function verdict(policy: ScalingPolicy, summary: RunSummary, result: SimulationResult): Verdict {
  const { objectives, pods } = policy;
  const reasons: string[] = [];
  const where = `${summary.stack}/${summary.scenario}`;
  if (summary.peakRequiredPods > pods.maxReplicas) {
    reasons.push(
      `${where}: ${Math.round(summary.peakRps)} req/s needs ${summary.peakRequiredPods} ready pods for p95 ≤ ${objectives.p95LatencyMs} ms, but maxReplicas is ${pods.maxReplicas}`,
    );
  } else if (summary.peakTargetReplicas > pods.maxReplicas) {
    reasons.push(
      `${where}: ${Math.round(summary.peakRps)} req/s needs ${summary.peakTargetReplicas} replicas at the HPA target (${Math.round(hpaTargetRatePerPod(policy))} req/s per pod), but maxReplicas is ${pods.maxReplicas}: the HPA would be pinned at its maximum`,
    );
  }
  if (summary.timeToCapacitySeconds > objectives.scaleUpSeconds) {
    reasons.push(
      `${where}: ready pods stayed below the load's need for ${summary.timeToCapacitySeconds} s (scale-up objective ${objectives.scaleUpSeconds} s)`,
    );
  }
  if (summary.longestSloBreachSeconds > objectives.scaleUpSeconds) {
    reasons.push(
      `${where}: p95 stayed above ${objectives.p95LatencyMs} ms for ${summary.longestSloBreachSeconds} s in a row (allowed ${objectives.scaleUpSeconds} s while scaling up)`,
    );
  }
  if (summary.scaleDownSeconds > objectives.scaleDownSeconds) {
    const took = Number.isFinite(summary.scaleDownSeconds)
      ? `${summary.scaleDownSeconds} s`
      : "longer than the run";
    reasons.push(
      `${where}: scaling down after the load fell took ${took} (objective ${objectives.scaleDownSeconds} s)`,
    );
  }
  if (result.nodeLimitSeconds > 0) {
    reasons.push(
      `${where}: pods waited ${result.nodeLimitSeconds} s on the NodePool limits (${policy.nodes.karpenter.cpuLimitCores} cores, ${policy.nodes.karpenter.memoryLimitGiB} GiB)`,
    );
  }
  return { pass: reasons.length === 0, reasons };
}
