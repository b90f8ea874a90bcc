/**
 * `npm run bench`: the app (./serve.ts, its own process, rate limits raised) on an ephemeral local
 * platform, loaded by ./load.ts, next to a bare Node `http` server measured in the same run. Absolute
 * numbers drift between runs and machines, so each scenario is also reported as a ratio of that
 * baseline. Options: BENCH_DURATION_MS (default 5000), BENCH_CONNECTIONS (default 50).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePortList, freePorts, removeStateDir, startPlatform } from "../../scripts/platform";
import { loadConfig } from "../src/config";
import { migrate } from "../src/db/migrate";
import { seedDemo } from "../src/seed";
import { type LoadResult, load } from "./load";

const root = join(__dirname, "..", "..");
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const jwtSecret = "bench-secret-0123456789abcdef0123456789";

async function waitForOk(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
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

async function main(): Promise<void> {
  const stateDir = join(root, ".state", `bench-${process.pid}`);
  const children: ChildProcess[] = [];
  console.log("Starting the platform:");
  const platform = await startPlatform({ stateDir, ports: await freePorts(), ephemeral: true });
  try {
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: platform.postgresPrimary.url,
      DATABASE_REPLICA_URL: platform.postgresReplica.url,
      REDIS_URL: platform.redis.url,
      JWT_SECRET: jwtSecret,
      LOG_LEVEL: "warn",
      DB_POOL_MAX: "20",
      DB_REPLICA_POOL_MAX: "20",
    };
    await migrate(env.DATABASE_URL);
    const demo = await seedDemo(loadConfig(env));
    const [appPort, basePort] = await freePortList(2);
    const tsx = join(root, "node_modules", ".bin", "tsx");
    const app = spawn(tsx, [join(__dirname, "serve.ts")], {
      env: { ...env, PORT: String(appPort) },
      stdio: "inherit",
    });
    const bare = spawn(
      process.execPath,
      ["-e", `require("http").createServer((q, s) => s.end("ok")).listen(${basePort}, "127.0.0.1")`],
      { stdio: "inherit" },
    );
    children.push(app, bare);
    const base = `http://127.0.0.1:${appPort}`;
    await Promise.all([waitForOk(`${base}/readyz`, app), waitForOk(`http://127.0.0.1:${basePort}/`, bare)]);

    const { access_token: token } = await json<{ access_token: string }>(`${base}/api/auth/login`, {
      method: "POST",
      body: JSON.stringify({ email: demo.email, password: demo.password }),
    });
    const auth = { authorization: `Bearer ${token}` };
    const conversation = await json<{ id: string }>(`${base}/api/chatbots/${demo.chatbotId}/conversations`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ title: "bench" }),
    });
    for (let index = 0; index < 30; index++)
      await json(`${base}/api/conversations/${conversation.id}/messages`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ content: `What are your opening hours? (${index})` }),
      });
    // Let the read-your-writes window pass so reads use the replica and the cache.
    await new Promise((resolve) => setTimeout(resolve, 9_000));

    const scenarios: Array<[string, Parameters<typeof load>[0]]> = [
      ["bare node http (baseline)", { url: `http://127.0.0.1:${basePort}/` }],
      ["GET /healthz", { url: `${base}/healthz` }],
      ["GET /api/chatbots/:id (cached)", { url: `${base}/api/chatbots/${demo.chatbotId}`, headers: auth }],
      [
        "GET /api/conversations/:id/messages (cached page)",
        { url: `${base}/api/conversations/${conversation.id}/messages?limit=20`, headers: auth },
      ],
      ["GET /api/conversations (replica)", { url: `${base}/api/conversations?limit=20`, headers: auth }],
    ].map(([name, options]) => [
      name as string,
      { connections, durationMs, ...(options as object) } as never,
    ]);

    const results: Array<[string, LoadResult]> = [];
    for (const [name, options] of scenarios) {
      results.push([name, await load(options)]);
      process.stdout.write(".");
    }
    console.log("\n");
    const baseline = results[0]![1].requestsPerSecond;
    console.log(`${connections} connections, ${durationMs / 1000}s per scenario, same machine as the load`);
    console.log("scenario | req/s | × baseline | p50 ms | p95 ms | p99 ms | errors");
    for (const [name, result] of results)
      console.log(
        [
          name,
          result.requestsPerSecond.toFixed(0),
          (result.requestsPerSecond / baseline).toFixed(3),
          result.p50Ms.toFixed(2),
          result.p95Ms.toFixed(2),
          result.p99Ms.toFixed(2),
          result.errors,
        ].join(" | "),
      );
    if (results.some(([, result]) => result.errors > 0)) process.exitCode = 1;
  } finally {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
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
