/**
 * `npm run bench [-- --json <file>] [--svg <file>] [--check] [--write-capacity] [--cpu-prof <dir>]`:
 * the app on an ephemeral local platform, loaded over loopback by wrk (and a socket client for event
 * streams), next to an Express 5 hello (the baseline every ratio is to: a scenario with a ratio budget
 * against the baseline measured around it, half before and half after) and a bare Node `http` server
 * measured in the same run. `--check` compares the run with ./budgets.json (`npm run bench:check`),
 * `--write-capacity` also measures one app process pinned to one core and writes
 * infra/scaling/capacity-measurement.json. Last, the hot queries are timed (./queries.ts) on a
 * database of their own seeded with `npm run seed:load`'s defaults (1M messages). Bounded:
 * BENCH_DURATION_MS per scenario (default 5000), BENCH_CONNECTIONS (default 50), BENCH_USERS
 * (default 500), BENCH_SSE_STREAMS (default 1000); BENCH_SCENARIOS=<key,…> runs only the scenarios
 * named (`hotQueries` names the query timing).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, type as osType, release, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import pg from "pg";
import { metrics } from "../../contracts/metrics";
import { latencyTarget } from "../../observability/config/slo";
import {
  ensureBinaries,
  freePortList,
  freePorts,
  removeStateDir,
  startPlatform,
} from "../../scripts/platform";
import { buildApp, containerEnv } from "../build";
import { hashPassword } from "../src/auth/password";
import { loadConfig } from "../src/config";
import { migrate } from "../src/db/migrate";
import { encodeCursor } from "../src/domain/cursor";
import { seedDemo } from "../src/seed";
import { checkBudgets, loadBudgets } from "./budgets";
import {
  appCounters,
  capacityConnections,
  capacityStep,
  drained,
  refusedAnswers,
  refusedBetween,
  summarizeCapacity,
  writeCapacity,
} from "./capacity";
import { measureKnowledgeCpu } from "./knowledge";
import { combinedRate, streams, wrk } from "./load";
import { formatTimings, measureHotQueries } from "./queries";
import {
  type BenchReport,
  type CapacityStep,
  renderSvg,
  renderTable,
  type ScenarioKey,
  type ScenarioResult,
} from "./report";
import { cloudflareOriginHeaders, cyclingRequests, mixedUser } from "./scripts";
import { parseSeedArgs, seedLoad } from "./seed-load";

const root = join(__dirname, "..", "..");
const positiveInt = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = Number(raw ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive integer`);
  return value;
};
const jwtSecret = "bench-secret-0123456789abcdef0123456789";
const benchPassword = "bench-password-0123456789";

/** A new, empty database beside the one `serverUrl` names; its URL. */
async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function waitForOk(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never answered 200`);
}

async function json<T>(url: string, init: RequestInit): Promise<T> {
  const response = await fetch(url, {
    ...init,
    headers: { "content-type": "application/json", ...init.headers },
  });
  if (!response.ok)
    throw new Error(`${init.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * `json`, waiting out a 429 for as long as its Retry-After says: one user walking 500 pages can pass
 * its per-user limit when the scenarios before it were short (BENCH_SCENARIOS, BENCH_SSE_STREAMS).
 */
async function jsonWaitingOutRateLimit<T>(url: string, init: RequestInit): Promise<T> {
  for (;;) {
    const response = await fetch(url, init);
    if (response.status !== 429) {
      if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    }
    await response.arrayBuffer();
    await new Promise((resolve) =>
      setTimeout(resolve, 1000 * Number(response.headers.get("retry-after") ?? 1)),
    );
  }
}

/** Runs `task` over `items`, `width` at a time. */
async function pool<T, R>(
  items: T[],
  width: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!, index);
      }
    }),
  );
  return results;
}

/** Resident set size of a process (MB, 10^6 bytes) from /proc, or null once it is gone. */
function rssMB(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? (Number(match[1]) * 1024) / 1e6 : null;
  } catch {
    return null;
  }
}

/** CPU time (ms, user + system) a process has used, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Samples the app processes' RSS every 100 ms: the peak since the last `window()` and overall. */
function rssSampler(pids: () => number[]) {
  let windowPeak = 0;
  let overall = 0;
  const sample = () => {
    for (const pid of pids()) {
      const mb = rssMB(pid) ?? 0;
      windowPeak = Math.max(windowPeak, mb);
      overall = Math.max(overall, mb);
    }
  };
  const timer = setInterval(sample, 100);
  return {
    window(): number {
      sample();
      const peak = windowPeak;
      windowPeak = 0;
      return peak;
    },
    overall(): number {
      sample();
      return overall;
    },
    stop: () => clearInterval(timer),
  };
}

/** The app's cache look-ups (hits and all) and its answers outside 2xx, from one /metrics reading. */
async function appReading(metricsUrl: string) {
  const text = await (await fetch(metricsUrl)).text();
  let hit = 0;
  let total = 0;
  for (const [, name, labels = "", value] of text.matchAll(/^(\w+)\{([^}]*)\} ([\d.e+]+)$/gm)) {
    if (name !== metrics.cacheRequests.name) continue;
    total += Number(value);
    if (/result="hit"/.test(labels)) hit += Number(value);
  }
  return { hit, total, refused: refusedAnswers(text) };
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  return `${cpu} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${osType()} ${release()}, Node ${process.version}`;
}

function commit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: root,
      encoding: "utf8",
    }).trim();
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return "unknown";
  }
}

interface Options {
  json?: string;
  svg?: string;
  check: boolean;
  writeCapacity: boolean;
  cpuProf?: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: "string" },
      svg: { type: "string" },
      check: { type: "boolean", default: false },
      "write-capacity": { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    json: values.json,
    svg: values.svg,
    check: values.check ?? false,
    writeCapacity: values["write-capacity"] ?? false,
    cpuProf: values["cpu-prof"],
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const budgets = loadBudgets();
  const durationMs = positiveInt("BENCH_DURATION_MS", 5_000);
  const connections = positiveInt("BENCH_CONNECTIONS", budgets.mixed.connections);
  const userCount = positiveInt("BENCH_USERS", 500);
  const streamCount = positiveInt("BENCH_SSE_STREAMS", budgets.sse.streams);
  ensureBinaries(["wrk"], (line) => console.log(line));

  const stateDir = join(root, ".state", `bench-${process.pid}`);
  const children: ChildProcess[] = [];
  console.log("Starting the platform:");
  const platform = await startPlatform({ stateDir, ports: await freePorts(), ephemeral: true });
  const redis = new Redis(platform.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const apps: ChildProcess[] = [];
  const sampler = rssSampler(() =>
    apps.flatMap((app) => (app.exitCode === null && app.pid ? [app.pid] : [])),
  );
  try {
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: platform.postgresPrimary.url,
      DATABASE_REPLICA_URL: platform.postgresReplica.url,
      REDIS_URL: platform.redis.url,
      JWT_SECRET: jwtSecret,
      // Every request comes from 127.0.0.1: the per-address and login limits would only measure
      // themselves. The per-user limit stays at its default: the load is spread over many users.
      RATE_LIMIT_IP_PER_MINUTE: "1000000",
      RATE_LIMIT_LOGIN_PER_MINUTE: "1000000",
    };
    await migrate(env.DATABASE_URL);
    const demo = await seedDemo(loadConfig(env));
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    // The bench's traffic must not run into the organization's monthly AI token budget.
    await db.query("UPDATE organizations SET monthly_token_budget = 1000000000000 WHERE id = $1", [
      demo.organizationId,
    ]);
    const hash = await hashPassword(benchPassword);
    const emails = Array.from({ length: userCount }, (_, index) => `bench-${index}@parley.local`);
    // The cursor pages' reader, none of the load's users: its 500 pages in a few seconds would otherwise
    // spend most of one load user's per-user minute, and the capacity steps right after them saw that
    // user's 429s.
    const cursorReaderEmail = "bench-cursors@parley.local";
    await db.query(
      `INSERT INTO users (organization_id, email, name, password_hash)
       SELECT $1, email, 'Bench User', $3 FROM unnest($2::text[]) AS email ON CONFLICT DO NOTHING`,
      [demo.organizationId, [...emails, cursorReaderEmail], hash],
    );

    // The container's build, so the figures are the bundle's (no TypeScript loader in the process).
    const mainJs = await buildApp(root, join(stateDir, "build"));
    const ports = await freePortList(5);
    const [appPort, streamPort, capacityPort, expressPort, barePort] = ports as [
      number,
      number,
      number,
      number,
      number,
    ];
    const expressUrl = `http://127.0.0.1:${expressPort}/`;
    const logDir = join(stateDir, "logs");
    mkdirSync(logDir, { recursive: true });
    const startApp = (name: string, port: number, extraEnv: Record<string, string>, pinToCpu?: string) => {
      const nodeArgs = [
        ...(options.cpuProf
          ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProf}`, `--cpu-prof-name=${name}.cpuprofile`]
          : []),
        mainJs,
      ];
      const [file, args] = pinToCpu
        ? ["taskset", ["-c", pinToCpu, process.execPath, ...nodeArgs]]
        : [process.execPath, nodeArgs];
      const out = openSync(join(logDir, `${name}.log`), "a");
      const child = spawn(file, args, {
        cwd: root,
        // The container's environment (allocator and runtime settings), so the figures are its own.
        env: { ...env, ...containerEnv, ...extraEnv, PORT: String(port) },
        stdio: ["ignore", out, out],
      });
      closeSync(out);
      children.push(child);
      apps.push(child);
      return child;
    };
    const app = startApp("app", appPort, {});
    const streamApp = startApp("streams", streamPort, { AI_SIMULATED_LATENCY_MS: "1000" });
    const express = spawn(
      process.execPath,
      [
        "-e",
        `require("express")().get("/", (q, s) => { s.send("ok"); }).listen(${expressPort}, "127.0.0.1")`,
      ],
      { cwd: root, stdio: "inherit" },
    );
    const bare = spawn(
      process.execPath,
      ["-e", `require("http").createServer((q, s) => s.end("ok")).listen(${barePort}, "127.0.0.1")`],
      { stdio: "inherit" },
    );
    children.push(express, bare);
    const base = `http://127.0.0.1:${appPort}`;
    const streamBase = `http://127.0.0.1:${streamPort}`;
    await Promise.all([
      waitForOk(`${base}/readyz`, app),
      waitForOk(`${streamBase}/readyz`, streamApp),
      waitForOk(expressUrl, express),
      waitForOk(`http://127.0.0.1:${barePort}/`, bare),
    ]);

    console.log(`Logging in ${userCount} users once each, creating their conversations…`);
    const logIn = async (email: string) => {
      const { access_token } = await json<{ access_token: string }>(`${base}/api/auth/login`, {
        method: "POST",
        body: JSON.stringify({ email, password: benchPassword }),
      });
      return access_token;
    };
    const tokens = await pool(emails, 8, logIn);
    const cursorReaderToken = await logIn(cursorReaderEmail);
    const conversationOf = (url: string, token: string, title: string) =>
      json<{ id: string }>(`${url}/api/chatbots/${demo.chatbotId}/conversations`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ title }),
      }).then((c) => c.id);
    const userConversations = await pool(tokens, 16, (token, index) =>
      conversationOf(base, token, `bench ${index}`),
    );
    // Twice the streams: the second half are the warm-up's (below), so no timed stream writes to a
    // conversation that already has an exchange.
    const allStreamConversations = await pool(
      Array.from({ length: 2 * streamCount }, (_, index) => index),
      16,
      (index) => conversationOf(streamBase, tokens[index % userCount]!, `stream ${index}`),
    );
    const streamConversations = allStreamConversations.slice(0, streamCount);
    const warmupConversations = allStreamConversations.slice(streamCount);
    const demoToken = tokens[0]!;
    const auth = { authorization: `Bearer ${demoToken}` };
    const pageConversation = userConversations[0]!;
    for (let index = 0; index < 30; index++)
      await json(`${base}/api/conversations/${pageConversation}/messages`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ content: `What are your opening hours? (${index})` }),
      });
    // One conversation with enough history for `cursorCount` distinct one-message pages.
    const cursorCount = 500;
    const cursorConversation = await conversationOf(base, cursorReaderToken, "cursors");
    await db.query(
      `INSERT INTO messages (conversation_id, organization_id, role, content, created_at)
       SELECT $1, $2, CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
              'Bench history message number ' || n || ' with some ordinary length of text in it.',
              now() - n * interval '1 second'
       FROM generate_series(1, $3::int) AS n`,
      [cursorConversation, demo.organizationId, cursorCount + 10],
    );
    // A page of the conversation list per user, each before a conversation of its own, so no two
    // requests of a turn ask for the same page (the replica read with nothing shared, as context).
    const userCursors = (
      await db.query<{ created_at: Date; id: string }>(
        `SELECT created_at, id FROM conversations WHERE organization_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2`,
        [demo.organizationId, userCount],
      )
    ).rows.map((row) => encodeCursor({ createdAt: row.created_at.toISOString(), id: row.id }));
    await db.end();

    console.log("Measuring the knowledge provider's CPU (while the read-your-writes window passes)…");
    const knowledge = await measureKnowledgeCpu();
    // Let the read-your-writes window pass so reads use the replica and the cache.
    await new Promise((resolve) => setTimeout(resolve, 9_000));

    const cycling =
      (path: string, method = "GET", body?: (n: string) => string) =>
      (run: number) =>
        cyclingRequests({ tokens, path, method, body, conversations: userConversations }, run);
    // Every wrk run numbers its requests (and so its questions) apart from every other run's.
    let runs = 0;
    const scenarios: Array<{
      key: ScenarioKey;
      name: string;
      url: string;
      script?: (run: number) => string;
      metricsUrl?: string;
      /** The process serving it, whose CPU per request is reported (the app's unless named). */
      server?: ChildProcess;
    }> = [
      {
        key: "bareHttp",
        name: "bare node http (context)",
        url: `http://127.0.0.1:${barePort}/`,
        server: bare,
      },
      {
        key: "expressHello",
        name: "Express 5 hello (baseline)",
        url: expressUrl,
        server: express,
      },
      { key: "healthz", name: "GET /healthz", url: `${base}/healthz` },
      {
        key: "cachedChatbot",
        name: "GET /api/chatbots/:id (cached)",
        url: base,
        script: cycling(`/api/chatbots/${demo.chatbotId}`),
      },
      {
        key: "cachedMessages",
        name: "GET /api/conversations/:id/messages (cached page)",
        url: base,
        script: cycling(`/api/conversations/${pageConversation}/messages?limit=20`),
      },
      {
        key: "replicaRead",
        name: "GET /api/conversations (uncached, replica)",
        url: base,
        script: cycling("/api/conversations?limit=20"),
      },
      {
        key: "replicaReadDistinct",
        name: "GET /api/conversations, a page per user (uncached, nothing shared; context)",
        url: base,
        script: (run) =>
          cyclingRequests(
            {
              tokens,
              conversations: userConversations,
              cursors: userCursors,
              path: "/api/conversations?limit=20&cursor={cursor}",
            },
            run,
          ),
      },
      {
        key: "postMessage",
        name: "POST message (built-in provider)",
        url: base,
        script: cycling(
          "/api/conversations/{conversation}/messages",
          "POST",
          (n) => `Which plans do you offer? (${n})`,
        ),
      },
      {
        key: "mixed",
        name: "mixed user (chatbots 3 : message 2 : analytics 1)",
        url: base,
        script: (run) => mixedUser({ tokens, conversations: userConversations }, run),
      },
    ];

    const results: ScenarioResult[] = [];
    const isApp = (url: string) => url.startsWith(base);
    // This VM's CPU per request drifts by up to 2× within a minute (the same build, docs/performance.md),
    // so a ratio budget compares its scenario with the baseline measured around it, half before and
    // half after, rather than with a baseline run minutes earlier.
    const baselineSlice = () => wrk({ url: expressUrl, connections, durationMs: durationMs / 2 });
    // The list read with nothing shared is context, but compared with the budgeted one the same way.
    const ratioAround = new Set<string>([...Object.keys(budgets.throughputRatios), "replicaReadDistinct"]);
    // BENCH_SCENARIOS=healthz,cachedChatbot runs only those (and the baselines), for profiling.
    const only = process.env.BENCH_SCENARIOS?.split(",").map((key) => key.trim());
    for (const scenario of scenarios.filter(
      (s) => !only || only.includes(s.key) || s.key === "expressHello" || s.key === "bareHttp",
    )) {
      process.stdout.write(`  ${scenario.name} … `);
      // A short unrecorded run first, so the JIT and the caches are warm.
      await wrk({ url: scenario.url, script: scenario.script?.(++runs), connections, durationMs: 1_000 });
      const before = isApp(scenario.url) ? await appReading(`${base}/metrics`) : undefined;
      sampler.window();
      const server = scenario.server ?? app;
      const baselineBefore = ratioAround.has(scenario.key) ? await baselineSlice() : undefined;
      const cpuBefore = cpuMs(server.pid);
      const result = await wrk({
        url: scenario.url,
        script: scenario.script?.(++runs),
        connections,
        durationMs,
      });
      const serverCpu = cpuMs(server.pid) - cpuBefore;
      const peak = sampler.window();
      const after = before ? await appReading(`${base}/metrics`) : undefined;
      const baselineAround = baselineBefore && combinedRate([baselineBefore, await baselineSlice()]);
      const lookups = before && after ? after.total - before.total : 0;
      results.push({
        key: scenario.key,
        name: scenario.name,
        connections,
        ...result,
        ratio: 0,
        baselineRequestsPerSecond: baselineAround ?? null,
        peakAppRssMB: isApp(scenario.url) ? peak : null,
        serverCpuMsPerRequest: result.requests > 0 ? serverCpu / result.requests : null,
        cacheHitRatio: before && after && lookups > 0 ? (after.hit - before.hit) / lookups : null,
      });
      console.log(
        `${result.requestsPerSecond.toFixed(0)} req/s, p95 ${result.p95Ms.toFixed(2)} ms, ${result.errors} errors${baselineAround ? ` (baseline around it: ${baselineAround.toFixed(0)} req/s)` : ""}`,
      );
      if (before && after && result.errors > 0)
        console.log(
          `    the app's own answers outside 2xx: ${refusedBetween(before.refused, after.refused)}`,
        );
    }

    const streamRequest = (conversation: string, index: number) => ({
      url: `${streamBase}/api/conversations/${conversation}/messages`,
      headers: { authorization: `Bearer ${tokens[index % userCount]}` },
      body: JSON.stringify({ content: `Stream ${index}: how do I reset my password?` }),
    });
    // The same streams once, unrecorded and awaited, as every other scenario has a warm-up run: the
    // stream app has served only conversation creations before, so otherwise the timed streams are
    // its first messages, compiled by the JIT and filling its pools while they run
    // (docs/performance.md, "Tenth round").
    const warmup = await streams({
      requests: warmupConversations.map((conversation, index) =>
        streamRequest(conversation, streamCount + index),
      ),
      openOverMs: 1_000,
      timeoutMs: 30_000,
    });
    if (warmup.errors > 0)
      console.log(
        `  the streams' warm-up: ${warmup.errors} of ${warmup.requests} failed (first: ${warmup.firstFailure})`,
      );
    process.stdout.write(`  ${streamCount} event streams opened over 1 s … `);
    sampler.window();
    const { firstFailure, ...sse } = await streams({
      requests: streamConversations.map(streamRequest),
      openOverMs: 1_000,
      timeoutMs: 30_000,
    });
    results.push({
      key: "sse",
      name: `${streamCount} SSE replies (1 s model latency), duration from own start`,
      connections: streamCount,
      ...sse,
      ratio: 0,
      baselineRequestsPerSecond: null,
      peakAppRssMB: sampler.window(),
      serverCpuMsPerRequest: null,
      cacheHitRatio: null,
    });
    console.log(
      `p95 ${sse.p95Ms.toFixed(0)} ms, ${sse.errors} errors${firstFailure ? ` (first: ${firstFailure})` : ""}`,
    );

    process.stdout.write(`  Redis memory of ${cursorCount} distinct cursor pages … `);
    await redis.connect();
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
    const memoryBefore = await usedMemory();
    let cursor: string | null = null;
    for (let page = 0; page < cursorCount; page++) {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const body: { next_cursor: string | null } = await jsonWaitingOutRateLimit(
        `${base}/api/conversations/${cursorConversation}/messages?limit=1${query}`,
        { headers: { authorization: `Bearer ${cursorReaderToken}` } },
      );
      cursor = body.next_cursor;
      if (!cursor) throw new Error(`the cursor conversation ran out of pages after ${page + 1}`);
    }
    const cursorRedisMB = Math.max(0, (await usedMemory()) - memoryBefore) / 1e6;
    console.log(`${cursorRedisMB.toFixed(2)} MB`);

    let capacity: BenchReport["capacity"];
    if (options.writeCapacity) {
      console.log("Capacity: one app process pinned to CPU 0, the mixed user at rising connections:");
      const pinned = startApp("capacity", capacityPort, {}, "0");
      const url = `http://127.0.0.1:${capacityPort}`;
      await waitForOk(`${url}/readyz`, pinned);
      const counters = async () => appCounters(await (await fetch(`${url}/metrics`)).text());
      const users = { tokens, conversations: userConversations };
      const top = capacityConnections[capacityConnections.length - 1]!;
      const load = (connections: number) =>
        wrk({
          url,
          script: mixedUser(users, ++runs, cloudflareOriginHeaders),
          connections,
          durationMs,
          cpus: "1",
          threads: 1,
        });
      // One unrecorded step at the top, so the JIT, the pools and the caches are warm.
      await load(top);
      let before = await drained(counters);
      const refused = async () => refusedAnswers(await (await fetch(`${url}/metrics`)).text());
      let refusedBefore = await refused();
      const idleFrom = cpuMs(pinned.pid);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const idleCpuMsPerSecond = (cpuMs(pinned.pid) - idleFrom) / 2;
      const steps: CapacityStep[] = [];
      // The pinned process alone (the bench's other apps hold their own memory), in MiB as the
      // scaling policy's pod memory is.
      const pinnedRss = rssSampler(() => (pinned.pid ? [pinned.pid] : []));
      const mebibytes = (megabytes: number) => (megabytes * 1e6) / 2 ** 20;
      for (const stepConnections of capacityConnections) {
        const cpuBefore = cpuMs(pinned.pid);
        pinnedRss.window();
        const result = await load(stepConnections);
        const after = await drained(counters);
        const cpu = cpuMs(pinned.pid) - cpuBefore;
        const peakRssMiB = mebibytes(pinnedRss.window());
        const step = capacityStep(stepConnections, result, cpu, before, after, peakRssMiB);
        before = after;
        const refusedAfter = await refused();
        const refusedInStep = refusedBetween(refusedBefore, refusedAfter);
        refusedBefore = refusedAfter;
        steps.push(step);
        const { listChatbots, postMessage, analytics } = step.served;
        console.log(
          `  ${stepConnections} connections: ${step.requestsPerSecond.toFixed(0)} req/s, p95 ${step.p95Ms.toFixed(1)} ms, ${step.errors} errors, ${step.cpuMsPerRequest.toFixed(3)} ms CPU per request; served ${listChatbots} lists, ${postMessage} messages, ${analytics} analytics, ${step.cachedReplies} cached replies; peak RSS ${peakRssMiB.toFixed(0)} MiB`,
        );
        if (step.errors > 0)
          console.log(`    the app's own answers outside 2xx in that step: ${refusedInStep}`);
      }
      pinnedRss.stop();
      capacity = summarizeCapacity(steps, latencyTarget.thresholdSeconds * 1000, idleCpuMsPerSecond);
    }

    let hotQueryP95Ms: BenchReport["hotQueryP95Ms"];
    if (!only || only.includes("hotQueries")) {
      // Last, so the seeding's writes (and the vacuum after them) touch no scenario. A database of its
      // own on the same primary: the scenarios' data stays as they measured it.
      const seed = parseSeedArgs([]);
      console.log(
        `Hot queries: seeding ${seed.messages} messages in ${seed.conversations} conversations (npm run seed:load's defaults)…`,
      );
      const loadUrl = await createDatabase(platform.postgresPrimary.url, "parley_hot_queries");
      await migrate(loadUrl);
      const seeded = await seedLoad(loadUrl, seed);
      console.log(
        `  seeded in ${seeded.seconds.toFixed(0)} s; timing each hot query (npm run bench:queries)…`,
      );
      const timings = await measureHotQueries(loadUrl, { runs: 100, samples: 20 });
      console.log(formatTimings(timings));
      hotQueryP95Ms = Object.fromEntries(timings.map((timing) => [timing.name, timing.p95Ms]));
    }

    const baseline = results.find((r) => r.key === "expressHello")!.requestsPerSecond;
    for (const result of results)
      result.ratio = result.requestsPerSecond / (result.baselineRequestsPerSecond ?? baseline);
    const report: BenchReport = {
      date: new Date().toISOString(),
      commit: commit(),
      machine: machine(),
      durationMs,
      scenarios: results,
      peakAppRssMB: sampler.overall(),
      knowledgeCpuMsPerMessage: knowledge.cpuMsPerMessage,
      knowledgeBaseBytes: knowledge.knowledgeBaseBytes,
      cursorRedisMB,
      cursorCount,
      hotQueryP95Ms,
      capacity,
    };
    console.log(
      `\n${connections} connections, ${durationMs / 1000} s per scenario, loopback, load generator on the same machine\n`,
    );
    console.log(renderTable(report));
    for (const [file, text] of [
      [options.json, `${JSON.stringify(report, null, 2)}\n`],
      [options.svg, renderSvg(report)],
    ] as const) {
      if (!file) continue;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`wrote ${file}`);
    }
    if (capacity) console.log(`wrote ${writeCapacity(report, capacity)}`);
    if (options.check) {
      const failures = checkBudgets(report, budgets);
      for (const failure of failures) console.error(`OVER BUDGET ${failure}`);
      console.log(failures.length === 0 ? "\nAll budgets met (app/bench/budgets.json)." : "");
      if (failures.length > 0) process.exitCode = 1;
    }
  } finally {
    sampler.stop();
    redis.disconnect();
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
            child.once("exit", resolve);
            child.kill("SIGTERM");
          }),
      ),
    );
    await platform.stop();
    removeStateDir(stateDir);
  }
}

main().catch((error: Error) => {
  console.error(`bench: ${error.message}`);
  process.exit(1);
});
