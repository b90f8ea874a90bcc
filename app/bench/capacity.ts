/**
 * The per-core capacity measurement behind `npm run bench -- --write-capacity`: its load script, the
 * evidence each step records, the choice of the service rate, and the file it writes
 * (infra/scaling/capacity-measurement.json, which the scaling policy reads).
 *
 * The steps drive the bench's mixed user (app/bench/scripts.ts), each with a run number of its own.
 * Before that script desynchronised its users and numbered each run's questions apart, its users
 * walked the 3 : 2 : 1 cycle in lockstep and repeated the previous runs' questions (answered by the
 * response cache), so the steps' CPU per request measured how many requests a step managed (1.9 ms at
 * 1 connection, 0.43 ms at 64), not the mix. The file records the mix each step served and its cached
 * replies from the app's own metrics, so the reader can check both.
 */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { metrics } from "../../contracts/metrics";
import {
  type CapacityStepEvidence,
  capacityProblem,
  type MeasuredCapacity,
  measuredCapacityFile,
  measuredCapacitySchema,
  memoryFit,
  serviceRateStep,
} from "../../infra/scaling/measured-capacity";
import type { LoadResult } from "./load";
import type { BenchReport } from "./report";
import { cloudflareOriginHeaders } from "./scripts";

/** Connections of the steps, rising towards saturation of the one core. */
export const capacityConnections = [1, 2, 4, 8, 16, 32, 64] as const;

export const capacityMethod = `One app process (the container's bundle) pinned to one CPU core (taskset -c 0) on the bench's local platform (PostgreSQL primary + replica, Redis on the same machine); wrk pinned to the other core (taskset -c 1, one thread) drives the mixed user (list chatbots, send a message with the built-in provider, read analytics in 3:2:1, many users logged in once; every request with the Accept-Encoding Cloudflare sends every origin, ${cloudflareOriginHeaders["Accept-Encoding"]}, as production requests arrive) at 1, 2, 4, 8, 16, 32, 64 connections, each step for the bench's scenario duration, after one unrecorded step at 64 connections (JIT, pools, caches warm). Users are desynchronised (user u is at cycle step (round + u) mod 6), so every step serves 3:2:1 however many requests it makes, and every message is a question never asked before in the run, so none is answered from the response or semantic cache; each step records the mix the app served and its cached replies (parley_http_requests_total, parley_cache_requests_total). requestsPerSecondPerCore is the core's service rate: 1000 / the app process's CPU ms per request (user + system from /proc/<pid>/stat) in the busiest step without errors (nearest saturation, where per-request event-loop and syscall overheads are shared by the most requests), the quantity the M/M/1 model in infra/scaling/capacity.ts takes as mu; CPU time is what other load on a shared machine distorts least. withinSloRequestsPerSecond is the highest step req/s whose p95 met the API's p95 objective with zero errors, as observed on the machine named here (recorded, not used by the policy). idleCpuMsPerSecond is the process's CPU with no load. Each step records the process's peak resident memory (VmRSS, sampled every 100 ms); memory is the line through them that the HPA's memory metric follows in the scaling simulator: the least-squares slope on req/s (never below 0), raised to pass through the highest step.`;

/** The counters of a Prometheus text exposition the steps compare before and after. */
/** A label's value in a Prometheus text series' label set. */
const label = (labels: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(labels)?.[1];

export interface AppCounters {
  served: CapacityStepEvidence["served"];
  cachedReplies: number;
}

/** Requests answered 2xx by kind, and replies answered from a cache, from the app's /metrics text. */
export function appCounters(metricsText: string): AppCounters {
  const served = { listChatbots: 0, postMessage: 0, analytics: 0 };
  let cachedReplies = 0;
  for (const [, name, labels = "", value] of metricsText.matchAll(/^(\w+)\{([^}]*)\} ([\d.e+]+)$/gm)) {
    const n = Number(value);
    if (name === metrics.httpRequests.name && label(labels, "status_code")?.startsWith("2")) {
      const route = `${label(labels, "method")} ${label(labels, "route")}`;
      if (route === "GET /api/chatbots") served.listChatbots += n;
      else if (route === "POST /api/conversations/:id/messages") served.postMessage += n;
      else if (route === "GET /api/analytics/dashboard") served.analytics += n;
    } else if (name === metrics.cacheRequests.name) {
      const cache = label(labels, "cache");
      if ((cache === "ai_response" || cache === "ai_semantic") && label(labels, "result") === "hit")
        cachedReplies += n;
    }
  }
  return { served, cachedReplies };
}

/**
 * The answers the app gave outside 2xx, counted by "status method route" from its /metrics text, so a
 * step or scenario with errors can name them (wrk only counts them; it also counts socket errors,
 * which the app never sees).
 */
export function refusedAnswers(metricsText: string): Map<string, number> {
  const refused = new Map<string, number>();
  for (const [, name, labels = "", value] of metricsText.matchAll(/^(\w+)\{([^}]*)\} ([\d.e+]+)$/gm)) {
    const status = label(labels, "status_code") ?? "";
    if (name !== metrics.httpRequests.name || status.startsWith("2")) continue;
    refused.set(`${status} ${label(labels, "method")} ${label(labels, "route")}`, Number(value));
  }
  return refused;
}

/** What changed between two `refusedAnswers` readings, e.g. "503 POST /api/x × 3", or "none". */
export function refusedBetween(before: Map<string, number>, after: Map<string, number>): string {
  const changed = [...after]
    .map(([answer, count]) => [answer, count - (before.get(answer) ?? 0)] as const)
    .filter(([, count]) => count > 0)
    .map(([answer, count]) => `${answer} × ${count}`);
  return changed.length > 0 ? changed.join(", ") : "none";
}

const servedTotal = ({ served }: AppCounters) => served.listChatbots + served.postMessage + served.analytics;

/**
 * Reads the app's counters until they stop moving: the requests still in flight when wrk stops (up to
 * one per connection, seconds long at the top steps) finish inside the step that sent them, so its
 * CPU and its counts cover the same requests and the next step starts idle.
 */
export async function drained(
  read: () => Promise<AppCounters>,
  pollMs = 250,
  timeoutMs = 15_000,
): Promise<AppCounters> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    const now = await read();
    if (servedTotal(now) === servedTotal(last) || Date.now() > deadline) return now;
    last = now;
  }
}

/**
 * One step's evidence: wrk's rate, latency and errors; the app's CPU from the step's start until it
 * drained, per request the app served in that window (its own counts, so the tail is in both); its
 * peak resident memory over the same window.
 */
export function capacityStep(
  connections: number,
  load: LoadResult,
  cpuMs: number,
  before: AppCounters,
  after: AppCounters,
  peakRssMiB: number,
): CapacityStepEvidence {
  const requests = servedTotal(after) - servedTotal(before);
  return {
    connections,
    requestsPerSecond: load.requestsPerSecond,
    p95Ms: load.p95Ms,
    errors: load.errors,
    cpuMsPerRequest: requests > 0 ? cpuMs / requests : 0,
    served: {
      listChatbots: after.served.listChatbots - before.served.listChatbots,
      postMessage: after.served.postMessage - before.served.postMessage,
      analytics: after.served.analytics - before.served.analytics,
    },
    cachedReplies: after.cachedReplies - before.cachedReplies,
    peakRssMiB,
  };
}

export type CapacityResult = NonNullable<BenchReport["capacity"]>;

/** The service rate (busiest error-free step) and the highest step within the p95 objective. */
export function summarizeCapacity(
  steps: CapacityStepEvidence[],
  sloP95Ms: number,
  idleCpuMsPerSecond: number,
): CapacityResult {
  const chosen = serviceRateStep(steps);
  const within = steps.filter((s) => s.p95Ms <= sloP95Ms && s.errors === 0);
  return {
    requestsPerSecondPerCore: chosen && chosen.cpuMsPerRequest > 0 ? 1000 / chosen.cpuMsPerRequest : 0,
    withinSloRequestsPerSecond: Math.max(0, ...within.map((s) => s.requestsPerSecond)),
    sloP95Ms,
    idleCpuMsPerSecond,
    steps,
  };
}

/** The file's content; throws, naming the step, when the run did not measure the modelled mix. */
export function capacityMeasurement(
  report: Pick<BenchReport, "date" | "commit" | "machine">,
  capacity: CapacityResult,
): MeasuredCapacity {
  const steps = capacity.steps.map((s) => ({
    ...s,
    requestsPerSecond: Math.round(s.requestsPerSecond),
    p95Ms: Math.round(s.p95Ms * 10) / 10,
    cpuMsPerRequest: Math.round(s.cpuMsPerRequest * 1000) / 1000,
    peakRssMiB: Math.round(s.peakRssMiB * 10) / 10,
  }));
  const chosen = serviceRateStep(steps);
  if (!chosen || !(chosen.cpuMsPerRequest > 0)) {
    const first = steps[0];
    throw new Error(
      `capacity not written: no error-free step with CPU time measured for the pinned app (first step: ${first?.connections} connection(s), ${first?.requestsPerSecond} req/s, ${first?.errors} errors)`,
    );
  }
  const measured = measuredCapacitySchema.parse({
    requestsPerSecondPerCore: Math.floor(1000 / chosen.cpuMsPerRequest),
    withinSloRequestsPerSecond: Math.round(capacity.withinSloRequestsPerSecond),
    sloP95Ms: capacity.sloP95Ms,
    idleCpuMsPerSecond: Math.round(capacity.idleCpuMsPerSecond * 10) / 10,
    memory: memoryFit(steps),
    method: capacityMethod,
    date: report.date,
    commit: report.commit,
    machine: report.machine,
    steps,
  });
  const problem = capacityProblem(measured);
  if (problem) throw new Error(`capacity not written: ${problem}`);
  return measured;
}

export function writeCapacity(
  report: Pick<BenchReport, "date" | "commit" | "machine">,
  capacity: CapacityResult,
  file = measuredCapacityFile,
): string {
  writeFileSync(file, `${JSON.stringify(capacityMeasurement(report, capacity), null, 2)}\n`);
  return relative(process.cwd(), file) || file;
}
