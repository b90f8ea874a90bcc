/**
 * The database failing under the app, on a primary + streaming replica of this file's own: a frozen
 * primary (writes 503 + Retry-After within 2 s, reads served by the replica, ready but degraded), broken
 * replication (`primary_conninfo` cut: the lag grows although the replica answers, reads leave it,
 * `parley_db_replica_lag_seconds` keeps growing), a replica list with a dead member (reads balanced
 * over the live one), a replica frozen mid-read (the read falls back to the primary), and
 * read-your-writes across two app processes while the replica is behind; and a database unreachable
 * from the start, which the log names at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/platform";
import { eventually, freeze } from "../../tests/support/app/faults";
import {
  api,
  createChatbot,
  createConversation,
  type PrivateCluster,
  registerTenant,
  startClusterApp,
  startTestApp,
  type Tenant,
  type TestApp,
} from "../../tests/support/app/harness";
import { Database } from "../src/db/database";
import { createMetrics } from "../src/telemetry/metrics";

let cluster: PrivateCluster;
let app: TestApp;
let close: () => Promise<void>;
let tenant: Tenant;
let conversationId: string;
let replicaAdmin: pg.Pool;

const fastChecks = (config: TestApp["config"]) => ({
  ...config,
  replica: { maxLagSeconds: 2, checkIntervalMs: 200 },
  readYourWritesMs: 500,
});

beforeAll(async () => {
  const deadPort = await freePort();
  ({ cluster, app, close } = await startClusterApp("dbfaults", (config) => ({
    ...fastChecks(config),
    // A replica list with one dead member: reads must go to the live one.
    databaseReplicaUrls: [
      ...config.databaseReplicaUrls,
      `postgres://postgres@127.0.0.1:${deadPort}/postgres`,
    ],
  })));
  tenant = await registerTenant(app.url);
  const bot = await createChatbot(app.url, tenant.token);
  conversationId = (await createConversation(app.url, tenant.token, bot.id)).id;
  replicaAdmin = new pg.Pool({ connectionString: cluster.replica.url, max: 1 });
});
afterAll(async () => {
  await replicaAdmin?.end();
  await close?.();
});

const metrics = async () => String((await api(app.url, "GET", "/metrics")).body);
const queries = async (pool: "primary" | "replica", operation: string) =>
  Number(
    new RegExp(
      `parley_db_query_duration_seconds_count\\{pool="${pool}",operation="${operation}"\\} (\\d+)`,
    ).exec(await metrics())?.[1] ?? 0,
  );
const readMessages = () =>
  api(app.url, "GET", `/api/conversations/${conversationId}/messages`, { token: tenant.token });
const lagOf = async (port: number) =>
  Number(
    new RegExp(`parley_db_replica_lag_seconds\\{replica="127.0.0.1:${port}"\\} ([\\d.e+-]+)`).exec(
      await metrics(),
    )?.[1],
  );

describe("replica list", () => {
  it("balances reads over the live replicas, skipping a dead one", async () => {
    const ready = await api(app.url, "GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body.replicas).toEqual([
      { replica: `127.0.0.1:${cluster.replica.port}`, reachable: true, usable: true },
      { replica: expect.stringMatching(/^127\.0\.0\.1:\d+$/), reachable: false, usable: false },
    ]);
    await sleep(600); // past the pins of the set-up's writes
    // The conversation list is not cached: every read is a statement.
    const before = await queries("replica", "conversations.list");
    for (let index = 0; index < 10; index++)
      expect((await api(app.url, "GET", "/api/conversations", { token: tenant.token })).status).toBe(200);
    expect((await queries("replica", "conversations.list")) - before).toBe(10);
  });
});

describe("replica failing mid-read", () => {
  it("answers from the primary when the replica stops answering during a read", async () => {
    await sleep(600);
    const thaw = await freeze(cluster.replica.process.pid);
    try {
      const started = performance.now();
      const response = await readMessages();
      expect(response.status).toBe(200);
      // One client-side query timeout (1 s), then the primary.
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      await thaw();
    }
    await eventually(
      async () => (await api(app.url, "GET", "/readyz")).body.replica_in_use === true,
      "the replica back",
    );
  });
});

describe("broken replication", () => {
  it("counts a replica that stopped receiving as lagging, with a growing lag, even with an idle primary", async () => {
    expect(await lagOf(cluster.replica.port)).toBeLessThan(2);
    const original = (await replicaAdmin.query<{ primary_conninfo: string }>("SHOW primary_conninfo"))
      .rows[0]!.primary_conninfo;
    await replicaAdmin.query("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1 user=postgres'");
    await replicaAdmin.query("SELECT pg_reload_conf()");
    try {
      await eventually(async () => (await lagOf(cluster.replica.port)) > 2, "the lag to pass the bound");
      const first = await lagOf(cluster.replica.port);
      expect((await api(app.url, "GET", "/readyz")).body.replica_in_use).toBe(false);
      await sleep(1_000);
      expect(await lagOf(cluster.replica.port)).toBeGreaterThan(first + 0.5);
      // Reads go to the primary meanwhile.
      const before = await queries("primary", "conversations.list");
      expect((await api(app.url, "GET", "/api/conversations", { token: tenant.token })).status).toBe(200);
      expect(await queries("primary", "conversations.list")).toBe(before + 1);
    } finally {
      await replicaAdmin.query(`ALTER SYSTEM SET primary_conninfo = '${original.replaceAll("'", "''")}'`);
      await replicaAdmin.query("SELECT pg_reload_conf()");
    }
    await eventually(async () => (await lagOf(cluster.replica.port)) === 0, "the lag back to 0", 30_000);
    await eventually(
      async () => (await api(app.url, "GET", "/readyz")).body.replica_in_use === true,
      "the replica in use",
    );
  });
});

describe("read-your-writes across pods", () => {
  it("sees a write made through another process while the replica is behind", async () => {
    const other = await startTestApp("dbfaults", fastChecks, { REDIS_URL: app.config.redisUrl }, cluster);
    try {
      await replicaAdmin.query("SELECT pg_wal_replay_pause()");
      try {
        const posted = await api(other.url, "POST", `/api/conversations/${conversationId}/messages`, {
          token: tenant.token,
          body: { content: "written on the other pod" },
        });
        expect(posted.status).toBe(201);
        const page = await readMessages();
        expect(page.body.items[0].id).toBe(posted.body.assistant_message.id);
      } finally {
        await replicaAdmin.query("SELECT pg_wal_replay_resume()");
      }
    } finally {
      await other.close();
    }
  });
});

describe("primary frozen", () => {
  it("fails writes within 2 s with 503 + Retry-After, keeps reads on the replica and the pod ready (degraded)", async () => {
    await cluster.replicated();
    await eventually(
      async () => (await api(app.url, "GET", "/readyz")).body.replica_in_use === true,
      "the replica in use",
    );
    const thaw = await freeze(cluster.primary.process.pid);
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const started = performance.now();
        const write = await api(app.url, "POST", `/api/conversations/${conversationId}/messages`, {
          token: tenant.token,
          body: { content: "while the primary is frozen" },
        });
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(write.status).toBe(503);
        expect(write.body.error.code).toBe("database_unavailable");
        expect(Number(write.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      // Still ready, degraded: the replica serves reads (an unready pod would leave the ALB).
      await eventually(
        async () => (await api(app.url, "GET", "/readyz")).body.primary === false,
        "readiness to see the primary down",
        5_000,
      );
      expect(await api(app.url, "GET", "/readyz")).toMatchObject({
        status: 200,
        body: { status: "degraded", primary: false, replica_in_use: true },
      });
      expect((await readMessages()).status).toBe(200);
      expect((await api(app.url, "GET", "/api/chatbots", { token: tenant.token })).status).toBe(200);
    } finally {
      await thaw();
    }
    await eventually(
      async () => (await api(app.url, "GET", "/readyz")).body.status === "ready",
      "readiness back to ready",
      10_000,
    );
    const write = await api(app.url, "POST", `/api/conversations/${conversationId}/messages`, {
      token: tenant.token,
      body: { content: "after the thaw" },
    });
    expect(write.status).toBe(201);
  });
});

describe("a database unreachable from the start", () => {
  it("logs the primary and the replica as unreachable on the first check, and once only", async () => {
    const deadPort = await freePort();
    const deadUrl = `postgres://postgres@127.0.0.1:${deadPort}/postgres`;
    const lines: Array<{ msg: string; replica?: string; err?: { message: string } }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const database = new Database({
      primaryUrl: deadUrl,
      replicaUrls: [deadUrl],
      primaryMax: 1,
      replicaMax: 1,
      maxLagSeconds: 5,
      checkIntervalMs: 100,
      metrics: createMetrics({ version: "t", commit: "t" }),
      log,
    });
    try {
      await database.start();
      await sleep(500);
      expect(database.primaryReachable).toBe(false);
      const logged = (msg: string) => lines.filter((line) => line.msg === msg);
      // pino's error serializer appends the causes: the line says why, not only that.
      const why = `the database server did not answer: connect ECONNREFUSED 127.0.0.1:${deadPort}`;
      expect(logged("primary database unreachable")).toEqual([
        expect.objectContaining({ err: expect.objectContaining({ message: why }) }),
      ]);
      expect(logged("replica unreachable")).toEqual([
        expect.objectContaining({
          replica: `127.0.0.1:${deadPort}`,
          err: expect.objectContaining({ message: why }),
        }),
      ]);
    } finally {
      await database.close();
    }
  });
});
