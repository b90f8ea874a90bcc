/** Writes what the bench measured per core to infra/scaling/measured-capacity.json. */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import {
  type MeasuredCapacity,
  measuredCapacityFile,
  measuredCapacitySchema,
} from "../../infra/scaling/measured-capacity";
import type { BenchReport } from "./report";

export const capacityMethod =
  "One app process pinned to one CPU core (taskset -c 0), on the bench's local platform (PostgreSQL primary + replica, Redis on the same machine). wrk pinned to the other core (taskset -c 1, one thread) drives the mixed user (list chatbots, send a message with the built-in provider, read analytics in 3:2:1, 500 users logged in once) at 1, 2, 4, 8, 16, 32, 64 connections, each step for the bench's scenario duration, stopping at the first step over the objective. The capacity is the highest req/s of a step whose p95 stays within the API's p95 latency objective (alerts/slo.ts) with zero errors.";

export function writeCapacity(
  report: BenchReport,
  capacity: NonNullable<BenchReport["capacity"]>,
  file = measuredCapacityFile,
): string {
  if (!(capacity.requestsPerSecondPerCore > 0)) {
    const first = capacity.steps[0];
    throw new Error(
      `capacity not written: no step kept p95 within ${capacity.sloP95Ms} ms with zero errors (at ${first?.connections} connection(s): p95 ${first?.p95Ms.toFixed(1)} ms, ${first?.errors} errors); is the machine busy?`,
    );
  }
  const measured: MeasuredCapacity = measuredCapacitySchema.parse({
    requestsPerSecondPerCore: Math.floor(capacity.requestsPerSecondPerCore),
    sloP95Ms: capacity.sloP95Ms,
    method: capacityMethod,
    date: report.date,
    commit: report.commit,
    machine: report.machine,
    steps: capacity.steps.map((s) => ({
      connections: s.connections,
      requestsPerSecond: Math.round(s.requestsPerSecond),
      p95Ms: Math.round(s.p95Ms * 10) / 10,
      errors: s.errors,
    })),
  });
  writeFileSync(file, `${JSON.stringify(measured, null, 2)}\n`);
  return relative(process.cwd(), file) || file;
}
