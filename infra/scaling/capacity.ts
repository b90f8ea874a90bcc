/**
 * The per-pod capacity and latency model the simulator, the invariants and the cost estimate share.
 *
 * Calibration: the measured ceiling on the development machines — Express 5 + one `pg` query ≈
 * 11,000 req/s with wrk -t2 -c50 on a 2-core box, load generator on the same box. Counting both
 * cores for the server (conservative: wrk used part of them) gives 5,500 req/s per core. A real
 * Parley API request does about ten times that handler's work (JWT verification, zod validation,
 * 2–3 queries, a Redis look-up, JSON, a pino log line and prom-client observations): an assumed
 * work multiple of 10, so 550 req/s per core. A pod serves at its CPU *request* (Karpenter packs
 * nodes by requests, so bursting to the limit is not counted on): 500m → 275 req/s.
 */
import type { ScalingPolicy } from "./policy";

/** Express 5 + one pg query, wrk -t2 -c50 on 2 cores (measured, keep-alive, load generator on the same box). */
export const benchmarkRequestsPerSecond = 11_000;
export const benchmarkCores = 2;
/** Assumed CPU work of a real API request relative to the benchmark's handler. */
export const requestWorkMultiple = 10;
export const requestsPerSecondPerCore = benchmarkRequestsPerSecond / benchmarkCores / requestWorkMultiple;

/**
 * Latency floor (p95, ms) with no queueing: ALB hop, 2–3 DB round trips across AZs, one Redis
 * round trip. An assumption, not a measurement.
 */
export const baseP95LatencyMs = 25;
/** Requests waiting longer than this are cut off by the load balancer; the model caps p95 there. */
export const maxModelledLatencyMs = 30_000;
/** Resident memory of an idle pod (Node 20 + express, pg, ioredis, prom-client), and per req/s in flight. */
export const baseMemoryMiB = 120;
export const memoryMiBPerRequestPerSecond = 0.2;
/**
 * One concurrent user is one load-test virtual user: one API request, then about a
 * second of think time — 1 req/s.
 */
export const requestsPerSecondPerUser = 1;

/** p95 of an M/M/1 sojourn time is ln(20)/(μ−λ). */
const p95Factor = Math.log(20);

/** Requests per second one pod serves at its CPU request. */
export function podServiceRate(policy: ScalingPolicy): number {
  return (policy.pods.cpuRequestMillicores / 1000) * requestsPerSecondPerCore;
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
