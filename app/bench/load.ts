/**
 * A small closed-loop HTTP load generator: `connections` keep-alive connections each send the next
 * request as soon as the previous answer arrives, for `durationMs`. Reports throughput and latency
 * percentiles; any non-2xx answer counts as an error.
 */
import { Agent, request } from "node:http";

export interface LoadResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface LoadOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationMs: number;
}

export function percentile(sortedMs: number[], fraction: number): number {
  if (sortedMs.length === 0) return 0;
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1)]!;
}

function once(agent: Agent, options: LoadOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const call = request(
      options.url,
      { method: options.method ?? "GET", headers: options.headers, agent },
      (response) => {
        response.resume();
        response.once("end", () => resolve((response.statusCode ?? 500) < 300));
        response.once("error", () => resolve(false));
      },
    );
    call.once("error", () => resolve(false));
    call.end(options.body);
  });
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.durationMs;
  const started = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      const ok = await once(agent, options);
      latencies.push(performance.now() - begin);
      if (!ok) errors += 1;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const elapsedSeconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    requestsPerSecond: latencies.length / elapsedSeconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
  };
}
