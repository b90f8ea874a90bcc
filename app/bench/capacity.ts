/** Writes what the bench measured per core to infra/scaling/capacity-measurement.json. */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import {
  type MeasuredCapacity,
  measuredCapacityFile,
  measuredCapacitySchema,
} from "../../infra/scaling/measured-capacity";
import type { BenchReport } from "./report";

export const capacityMethod =
  "One app process (the container's bundle) pinned to one CPU core (taskset -c 0) on the bench's local platform (PostgreSQL primary + replica, Redis on the same machine); wrk pinned to the other core (taskset -c 1, one thread) drives the mixed user (list chatbots, send a message with the built-in provider, read analytics in 3:2:1, many users logged in once) at 1, 2, 4, 8, 16, 32, 64 connections, each step for the bench's scenario duration. requestsPerSecondPerCore is the core's service rate: 1000 / the app process's CPU ms per request (user + system from /proc/<pid>/stat) in the step with the highest req/s (nearest saturation, where fixed per-second work weighs least), the quantity the M/M/1 model in capacity.ts takes as mu (it subtracts the queueing headroom the p95 objective needs itself); CPU time is what other load on a shared machine distorts least. withinSloRequestsPerSecond is the highest step req/s whose p95 met the API's p95 objective (alerts/slo.ts) with zero errors, as observed on the machine named here.";

export function writeCapacity(
  report: BenchReport,
  capacity: NonNullable<BenchReport["capacity"]>,
  file = measuredCapacityFile,
): string {
  if (!(capacity.requestsPerSecondPerCore > 0)) {
    const first = capacity.steps[0];
    throw new Error(
      `capacity not written: no CPU time measured for the pinned app (first step: ${first?.connections} connection(s), ${first?.requestsPerSecond.toFixed(0)} req/s, ${first?.errors} errors)`,
    );
  }
  const measured: MeasuredCapacity = measuredCapacitySchema.parse({
    requestsPerSecondPerCore: Math.floor(capacity.requestsPerSecondPerCore),
    withinSloRequestsPerSecond: Math.round(capacity.withinSloRequestsPerSecond),
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
      cpuMsPerRequest: Math.round(s.cpuMsPerRequest * 1000) / 1000,
    })),
  });
  writeFileSync(file, `${JSON.stringify(measured, null, 2)}\n`);
  return relative(process.cwd(), file) || file;
}
