/**
 * The per-core capacity `npm run bench -- --write-capacity` measured (capacity-measurement.json, next to
 * this file): the service rate of one app process on one CPU core under the mixed user, with the
 * method and the run it came from (app/bench/capacity.ts). `npm run scaling` shows it next to the
 * capacity the scaling model assumes (capacity.ts), whose simulator scenarios are sized for that
 * assumption.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

// Not "measured-capacity.json": under the policy-pack runner, require("./measured-capacity") tries
// ".json" before ".ts" and would load the data instead of this module.
export const measuredCapacityFile = join(__dirname, "capacity-measurement.json");

export const measuredCapacitySchema = z
  .object({
    /** Service rate of one core for the mixed user: 1000 / the app's CPU ms per request. */
    requestsPerSecondPerCore: z.number().positive(),
    /** Highest observed req/s of a step whose p95 met `sloP95Ms` with no errors (on that machine). */
    withinSloRequestsPerSecond: z.number().min(0),
    sloP95Ms: z.number().positive(),
    method: z.string().min(1),
    date: z.iso.datetime(),
    commit: z.string().min(1),
    machine: z.string().min(1),
    steps: z.array(
      z.object({
        connections: z.number().int().positive(),
        requestsPerSecond: z.number().min(0),
        p95Ms: z.number().min(0),
        errors: z.number().int().min(0),
        cpuMsPerRequest: z.number().min(0),
      }),
    ),
  })
  .strict();
export type MeasuredCapacity = z.infer<typeof measuredCapacitySchema>;

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
  return parsed.data;
}
