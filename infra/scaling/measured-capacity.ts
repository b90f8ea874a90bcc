/**
 * The per-core capacity `npm run bench -- --write-capacity` measured (measured-capacity.json, next to
 * this file): what one app process sustains on one CPU core within the API's p95 latency objective,
 * and the run it came from. The scaling model (capacity.ts) derives a pod's service rate from it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export const measuredCapacityFile = join(__dirname, "measured-capacity.json");

export const measuredCapacitySchema = z
  .object({
    /** Highest req/s of the mixed user with p95 within `sloP95Ms` and no errors, one core. */
    requestsPerSecondPerCore: z.number().positive(),
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
