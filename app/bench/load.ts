/**
 * The bench's load generators: wrk (Debian's `wrk`, a C event loop far faster than any JS client, so
 * the baseline is not capped by the client) for throughput scenarios, and a small socket client for
 * server-sent event streams, whose duration from each stream's own start wrk cannot time.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface LoadResult {
  requests: number;
  /** Non-2xx answers plus socket errors (connect, read, write, timeout). */
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export interface WrkOptions {
  url: string;
  connections: number;
  durationMs: number;
  /** wrk threads; two keep the generator off a single core without taking both. */
  threads?: number;
  /** Lua defining `request()` (and optionally `init`), run in every wrk thread. */
  script?: string;
  /** Pin wrk to these CPUs (`taskset -c`), e.g. to keep it off the core the app is pinned to. */
  cpus?: string;
}

export function percentile(sortedMs: number[], fraction: number): number {
  if (sortedMs.length === 0) return 0;
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(fraction * sortedMs.length) - 1)]!;
}

/** Several runs of one load as one: all their requests over all their time (the runs' own durations). */
export function combinedRate(runs: LoadResult[]): number {
  const seconds = runs.reduce(
    (sum, run) => sum + (run.requests > 0 ? run.requests / run.requestsPerSecond : 0),
    0,
  );
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  if (requests === 0) throw new Error("the baseline served no request");
  return requests / seconds;
}

/**
 * wrk counts statuses above 399 as errors; `response()` counts every non-2xx instead, but defining it
 * makes wrk parse each body, so it is only added where redirects could occur (never here): 3xx are
 * not expected from these routes and would show as a low throughput, not hide.
 */
const reportLua = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("\\nBENCH_JSON {\\"requests\\":%d,\\"durationUs\\":%d,\\"socketErrors\\":%d,\\"statusErrors\\":%d,\\"p50\\":%d,\\"p95\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
`;

/** Runs wrk once, bounded by its own duration plus a margin. */
export async function wrk(options: WrkOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "parley-wrk-"));
  const scriptFile = join(dir, "script.lua");
  writeFileSync(scriptFile, `${options.script ?? ""}\n${reportLua}`);
  const seconds = Math.max(1, Math.round(options.durationMs / 1000));
  const args = [
    `-t${options.threads ?? 2}`,
    `-c${options.connections}`,
    `-d${seconds}s`,
    "--timeout",
    "10s",
    "-s",
    scriptFile,
    options.url,
  ];
  const [file, argv] = options.cpus ? ["taskset", ["-c", options.cpus, "wrk", ...args]] : ["wrk", args];
  try {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.durationMs + 30_000);
      child.once("error", reject);
      child.once("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`wrk exited with ${code}: ${(stderr || stdout).trim().split("\n")[0]}`));
      });
    });
    const line = output.split("\n").find((l) => l.startsWith("BENCH_JSON "));
    if (!line) throw new Error(`wrk printed no summary: ${output.trim().split("\n")[0]}`);
    const raw = JSON.parse(line.slice("BENCH_JSON ".length)) as Record<string, number>;
    const elapsedSeconds = raw.durationUs! / 1e6;
    return {
      requests: raw.requests!,
      errors: raw.socketErrors! + raw.statusErrors!,
      requestsPerSecond: raw.requests! / elapsedSeconds,
      p50Ms: raw.p50! / 1000,
      p95Ms: raw.p95! / 1000,
      p99Ms: raw.p99! / 1000,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface StreamOptions {
  /** One POST per entry, each opening its own event stream. */
  requests: Array<{ url: string; headers: Record<string, string>; body: string }>;
  /** The openings are spread evenly over this window. */
  openOverMs: number;
  /** A stream not finished by then is an error. */
  timeoutMs: number;
}

/** What one stream did: its duration from its own start, and whether it ended with `done`. */
interface StreamOutcome {
  ms: number;
  /** Why it failed; undefined when it ended with `done`. */
  failure?: string;
}

/** Connections opened at once while the streams' connections are made (under the listen backlog). */
const connectBatch = 100;

/** A connection made before the timed window, as a load balancer's pooled connection to a pod is. */
function connectTo(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 80) }, () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * One stream over its own connection, on a bare socket: the request written by hand, the answer kept
 * only as its first 4 KB and whether it had a done or an error event. Node's HTTP client, opening a
 * connection per stream, cost the bench about 0.8 ms of CPU per stream on the same two cores as the
 * app it measures (docs/performance.md, "Fifth round"), where wrk is C; this one parses nothing it
 * does not check. `Connection: close` makes the end of the answer the end of the connection, so
 * chunked framing needs no decoding: each event is one chunk (one write), so the `event: done` line
 * is never split by it.
 */
function sendStream(
  socket: Socket,
  url: URL,
  target: StreamOptions["requests"][number],
  timeoutMs: number,
): Promise<StreamOutcome> {
  const begin = performance.now();
  const requestBody = Buffer.from(target.body);
  const requestHead = [
    `POST ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    "Accept: text/event-stream",
    "Content-Type: application/json",
    `Content-Length: ${requestBody.length}`,
    "Connection: close",
    ...Object.entries(target.headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve) => {
    let settled = false;
    const finish = (failure?: string) => {
      if (settled) return;
      settled = true;
      resolve({ ms: performance.now() - begin, failure });
    };
    // The answer's first 4 KB (status line, headers, the start of a failure's body), and whether an
    // event line was seen anywhere: a done event carries the whole exchange, which can exceed any tail.
    let head = "";
    let carry = "";
    let done = false;
    let failed = false;
    socket.setEncoding("latin1");
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error("stream timed out")));
    socket.on("data", (chunk: string) => {
      if (head.length < 4096) head += chunk.slice(0, 4096 - head.length);
      const text = carry + chunk;
      done ||= text.includes("event: done\n");
      failed ||= text.includes("event: error\n");
      carry = text.slice(-16);
    });
    socket.once("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const body = head.slice(head.indexOf("\r\n\r\n") + 4);
      finish(
        status === 200 && done && !failed ? undefined : `${status || "no answer"}: ${body.slice(0, 200)}`,
      );
    });
    socket.once("error", (error) => finish(error.message));
    socket.once("close", () => finish("connection closed before the answer ended"));
    // No half-close after the body: Node's server ends a connection whose client has ended it.
    socket.write(Buffer.concat([Buffer.from(requestHead, "latin1"), requestBody]));
  });
}

/**
 * Makes one connection per stream, then sends the streams' requests spread over `openOverMs`, waits
 * for all, and reports each one's duration from its own request. The connections are made first, as a
 * load balancer's connections to a pod are: an ALB keeps its target connections open until their idle
 * timeout and reuses them (docs.aws.amazon.com/elasticloadbalancing/latest/application/
 * edit-load-balancer-attributes.html, "Connection idle timeout"; the app's HTTP_KEEP_ALIVE_TIMEOUT_MS
 * outlasts it for that reason). So the figure is the app's answer, not 1,000 handshakes of a client
 * on the same two cores.
 */
export async function streams(options: StreamOptions): Promise<LoadResult & { firstFailure?: string }> {
  const urls = options.requests.map((target) => new URL(target.url));
  const sockets: Socket[] = [];
  for (let index = 0; index < urls.length; index += connectBatch)
    sockets.push(...(await Promise.all(urls.slice(index, index + connectBatch).map(connectTo))));
  const started = performance.now();
  const gapMs = options.openOverMs / Math.max(1, options.requests.length);
  const pending: Array<Promise<StreamOutcome>> = [];
  for (const [index, target] of options.requests.entries()) {
    const due = started + index * gapMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(sendStream(sockets[index]!, urls[index]!, target, options.timeoutMs));
  }
  const outcomes = await Promise.all(pending);
  const elapsedSeconds = (performance.now() - started) / 1000;
  const latencies = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return {
    requests: outcomes.length,
    errors: outcomes.filter((o) => o.failure !== undefined).length,
    firstFailure: outcomes.find((o) => o.failure !== undefined)?.failure,
    requestsPerSecond: outcomes.length / elapsedSeconds,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    p99Ms: percentile(latencies, 0.99),
  };
}
