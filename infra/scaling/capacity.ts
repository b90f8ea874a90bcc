/**
 * The per-pod capacity and latency model the simulator, the invariants and the cost estimate share.
 *
 * Calibration: measured. A pod's service rate μ is its CPU *request* in cores (Karpenter packs nodes
 * by requests, so bursting to the limit is not counted on) times the per-core rate the policy reads
 * from infra/scaling/capacity-measurement.json (policy.ts): 1000 / the CPU ms one app process spent
 * per request of the mixed user (lists : messages : analytics 3 : 2 : 1, every message a new
 * question) on one pinned core at the busiest error-free step (app/bench/capacity.ts).
 *
 * Why that figure and not the bench's highest step within the p95 objective: the model below is M/M/1
 * per pod — μ is the rate a busy server completes requests, and the queueing wait the p95 objective
 * leaves room for, ln(20)/(μ−λ), is subtracted from it here (`sloRatePerPod`). The within-objective
 * step rate is already such a queue-limited rate, from a closed loop of at most 64 connections on a
 * machine whose PostgreSQL, Redis and load generator share the cores, at the steps' coarse doubling;
 * taken as μ it would count the queueing headroom twice and move with that machine's other load. CPU
 * per request is what the code costs, which is what a pod's CPU request buys; the file keeps the
 * within-objective rate beside it as a check, and `npm run scaling` prints both. What it leaves out:
 * limits that are not CPU (each pod's primary connection pool, which message transactions hold), and
 * that a request costs more CPU at low concurrency than at the busiest step (fewer requests share an
 * event-loop turn), so CPU utilisation below saturation runs somewhat above λ/μ.
 */
import type { ScalingPolicy } from "./policy";

/**
 * Latency floor (p95, ms) with no queueing: ALB hop, 2–3 DB round trips across AZs, one Redis
 * round trip. An assumption, not a measurement.
 */
export const baseP95LatencyMs = 25;
/** Requests waiting longer than this are cut off by the load balancer; the model caps p95 there. */
export const maxModelledLatencyMs = 30_000;
/**
 * One concurrent user is one load-test virtual user: one API request, then about a
 * second of think time — 1 req/s.
 */
export const requestsPerSecondPerUser = 1;

/** p95 of an M/M/1 sojourn time is ln(20)/(μ−λ). */
const p95Factor = Math.log(20);

/** Requests per second one pod serves at its CPU request (μ of the model). */
export function podServiceRate(policy: ScalingPolicy): number {
  return (policy.pods.cpuRequestMillicores / 1000) * policy.capacity.requestsPerSecondPerCore;
}

/**
 * Modelled p95 (ms) of a pod receiving `perPodRate` req/s with `backlogSeconds` of queued work
 * ahead of new arrivals: the latency floor plus M/M/1 queueing plus the backlog's wait.
 */
export function podP95LatencyMs(policy: ScalingPolicy, perPodRate: number, backlogSeconds = 0): number {
  const mu = podServiceRate(policy);
  const headroom = Math.max(mu - perPodRate, 0.02 * mu);
  const latency = baseP95LatencyMs + (1000 * p95Factor) / headroom + 1000 * backlogSeconds;
  return Math.min(latency, maxModelledLatencyMs);
}

/** The highest per-pod rate at which the modelled p95 meets the objective. */
export function sloRatePerPod(policy: ScalingPolicy): number {
  const budgetSeconds = (policy.objectives.p95LatencyMs - baseP95LatencyMs) / 1000;
  if (budgetSeconds <= 0) return 0;
  return Math.max(podServiceRate(policy) - p95Factor / budgetSeconds, 0);
}

/** Ready replicas needed to serve `rate` req/s within the p95 objective (Infinity if no pod can). */
export function replicasForSlo(policy: ScalingPolicy, rate: number): number {
  const perPod = sloRatePerPod(policy);
  if (rate <= 0) return 0;
  return perPod > 0 ? Math.ceil(rate / perPod) : Number.POSITIVE_INFINITY;
}

/**
 * The per-pod rate at which the HPA settles: the lower of the request-rate target and the rate
 * that puts CPU at its utilization target.
 */
export function hpaTargetRatePerPod(policy: ScalingPolicy): number {
  const atCpuTarget = (podServiceRate(policy) * policy.hpa.targetCpuUtilizationPercent) / 100;
  return Math.min(policy.hpa.targetRequestsPerSecondPerPod, atCpuTarget);
}

/** Replicas the HPA holds for a steady `rate`, within the policy's bounds. */
export function replicasAtTarget(policy: ScalingPolicy, rate: number): number {
  const wanted = Math.ceil(rate / hpaTargetRatePerPod(policy));
  return Math.min(Math.max(wanted, policy.pods.minReplicas), policy.pods.maxReplicas);
}
