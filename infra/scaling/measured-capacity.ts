/**
 * The per-core capacity `npm run bench -- --write-capacity` measured (capacity-measurement.json, next to
 * this file): the service rate of one app process on one CPU core under the mixed user, with the
 * method, every step's evidence and the run it came from (app/bench/capacity.ts). The scaling policy
 * (policy.ts) takes its per-core rate from here.
 *
 * A file is accepted only if its figure is the cost of the request mix the policy models: every step
 * served the mixed user's 3 : 2 : 1 (chatbot lists : messages : analytics), answered every message
 * afresh (no reply from the response or semantic cache, so a repeated question cannot make messages
 * look cheap), the per-core rate is 1000 / the CPU ms per request of the busiest error-free step, and
 * the memory model is the line memoryFit draws through the steps' peak RSS.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

// Not "measured-capacity.json": under the policy-pack runner, require("./measured-capacity") tries
// ".json" before ".ts" and would load the data instead of this module.
export const measuredCapacityFile = join(__dirname, "capacity-measurement.json");

/** The mixed user's request kinds and their shares (app/bench/scripts.ts). */
export const mixedUserShares = { listChatbots: 3 / 6, postMessage: 2 / 6, analytics: 1 / 6 } as const;
/** How far (absolute share) a step's served mix may stray from `mixedUserShares`. */
export const mixTolerance = 0.03;

const count = z.number().int().min(0);

/**
 * A pod's resident memory at a request rate, base + slope × req/s: what the HPA's memory metric sees
 * (the simulator's pods report it).
 */
export const memoryModelSchema = z
  .object({ baseMiB: z.number().positive(), miBPerRequestPerSecond: z.number().min(0) })
  .strict();
export type MemoryModel = z.infer<typeof memoryModelSchema>;

export const measuredCapacitySchema = z
  .object({
    /** Service rate of one core for the mixed user: 1000 / the app's CPU ms per request. */
    requestsPerSecondPerCore: z.number().positive(),
    /** Highest observed req/s of a step whose p95 met `sloP95Ms` with no errors (on that machine). */
    withinSloRequestsPerSecond: z.number().min(0),
    sloP95Ms: z.number().positive(),
    /** CPU the pinned process spends per second with no load (timers, probes): fixed work. */
    idleCpuMsPerSecond: z.number().min(0),
    memory: memoryModelSchema,
    method: z.string().min(1),
    date: z.iso.datetime(),
    commit: z.string().min(1),
    machine: z.string().min(1),
    steps: z
      .array(
        z
          .object({
            connections: z.number().int().positive(),
            requestsPerSecond: z.number().min(0),
            p95Ms: z.number().min(0),
            errors: count,
            cpuMsPerRequest: z.number().min(0),
            /** Requests the app answered in the step, by kind (its own parley_http_requests_total). */
            served: z.object({ listChatbots: count, postMessage: count, analytics: count }).strict(),
            /** Messages answered from the response or semantic cache instead of the provider. */
            cachedReplies: count,
            /** The pinned process's highest resident memory during the step (/proc/<pid>/status VmRSS). */
            peakRssMiB: z.number().positive(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();
export type MeasuredCapacity = z.infer<typeof measuredCapacitySchema>;
export type CapacityStepEvidence = MeasuredCapacity["steps"][number];

/** The step the service rate comes from: the busiest one without errors (nearest saturation). */
export function serviceRateStep(steps: readonly CapacityStepEvidence[]): CapacityStepEvidence | undefined {
  return steps
    .filter((step) => step.errors === 0)
    .reduce<CapacityStepEvidence | undefined>(
      (best, step) => (!best || step.requestsPerSecond > best.requestsPerSecond ? step : best),
      undefined,
    );
}

/**
 * The memory model of the steps: the least-squares slope of peak RSS on req/s (never below 0: more load
 * never frees memory in the model), raised through the step furthest above it, so the line never
 * understates what a step used. Rounded as the file records it (0.1 MiB, 0.0001 MiB per req/s).
 */
export function memoryFit(steps: readonly CapacityStepEvidence[]): MemoryModel {
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const rates = steps.map((step) => step.requestsPerSecond);
  const rss = steps.map((step) => step.peakRssMiB);
  const [meanRate, meanRss] = [mean(rates), mean(rss)];
  const spread = rates.reduce((sum, rate) => sum + (rate - meanRate) ** 2, 0);
  const covariance = rates.reduce((sum, rate, index) => sum + (rate - meanRate) * (rss[index]! - meanRss), 0);
  const slope = Math.round(Math.max(0, spread > 0 ? covariance / spread : 0) * 10_000) / 10_000;
  const base = Math.max(...rates.map((rate, index) => rss[index]! - slope * rate));
  return { baseMiB: Math.ceil(base * 10) / 10, miBPerRequestPerSecond: slope };
}

/** Why a measurement does not measure the modelled mix, or undefined when it does. */
export function capacityProblem(m: MeasuredCapacity): string | undefined {
  for (const step of m.steps) {
    const where = `the ${step.connections}-connection step`;
    const total = step.served.listChatbots + step.served.postMessage + step.served.analytics;
    if (total === 0) return `${where} served none of the mixed user's requests`;
    const shares = Object.entries(mixedUserShares).map(
      ([kind, share]) => [kind, step.served[kind as keyof typeof mixedUserShares] / total, share] as const,
    );
    if (shares.some(([, served, share]) => Math.abs(served - share) > mixTolerance)) {
      const percent = (value: number) => `${Math.round(value * 100)}%`;
      return `${where} served ${shares.map(([kind, served]) => `${percent(served)} ${kind}`).join(", ")}, not the mixed user's 3 : 2 : 1 (± ${percent(mixTolerance)})`;
    }
    if (step.cachedReplies > 0)
      return `${where} answered ${step.cachedReplies} messages from a cache (repeated questions): its CPU per request is not the mix's`;
  }
  const chosen = serviceRateStep(m.steps);
  if (!chosen) return "no step finished without errors";
  const expected = 1000 / chosen.cpuMsPerRequest;
  if (Math.abs(m.requestsPerSecondPerCore - expected) > 0.01 * expected)
    return `requestsPerSecondPerCore ${m.requestsPerSecondPerCore} is not 1000 / the ${chosen.cpuMsPerRequest} CPU ms per request of the busiest error-free step (${chosen.connections} connections): ${Math.floor(expected)}`;
  const fit = memoryFit(m.steps);
  if (m.memory.baseMiB !== fit.baseMiB || m.memory.miBPerRequestPerSecond !== fit.miBPerRequestPerSecond)
    return `memory ${JSON.stringify(m.memory)} is not the fit of the steps' peak RSS: ${JSON.stringify(fit)}`;
  return undefined;
}

/** Reads and validates the measured capacity; a broken file names itself and the first problem. */
export function readMeasuredCapacity(file = measuredCapacityFile): MeasuredCapacity {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(
      `${file}: ${(error as Error).message} (write it with \`npm run bench -- --write-capacity\`)`,
    );
  }
  const parsed = measuredCapacitySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const problem = capacityProblem(parsed.data);
  if (problem) throw new Error(`${file}: ${problem}`);
  return parsed.data;
}
