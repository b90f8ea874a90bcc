/**
 * The fault suite: bounded load on loopback (4 workers posting messages and reading history) while a
 * dependency fails, each printing requests sent, failed and acknowledged writes lost (every 201's
 * messages are looked up on the primary afterwards). Targets: no acknowledged write lost, no 5xx where
 * a fallback exists (reads; everything while Redis is down), bounded latency.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis } from "../../scripts/platform";
import { platform } from "../../tests/support/platform";
import {
  api,
  createChatbot,
  createConversation,
  registerTenant,
  startPrivateCluster,
  startTestApp,
  type TestApp,
} from "./harness";
import { type FakeOpenAi, openAiEnv, startFakeOpenAi } from "./support/fake-openai";
import { freeze } from "./support/faults";

interface Tally {
  fault: string;
  sent: number;
  failed: number;
  readServerErrors: number;
  writeServerErrors: number;
  lost: number;
  slowestMs: number;
}
const report: Tally[] = [];
afterAll(() => {
  for (const t of report)
    console.log(
      `fault "${t.fault}": ${t.sent} requests sent, ${t.failed} failed (reads 5xx ${t.readServerErrors}, writes 5xx ${t.writeServerErrors}), ${t.lost} acknowledged writes lost, slowest ${t.slowestMs} ms`,
    );
});

/** Load from `workers` loops until `stop` resolves; then checks every acknowledged write on the primary. */
async function underLoad(app: TestApp, fault: string, inject: () => Promise<void>): Promise<Tally> {
  const tenant = await registerTenant(app.url);
  const bot = await createChatbot(app.url, tenant.token);
  const conversations = await Promise.all(
    [0, 1, 2, 3].map(() => createConversation(app.url, tenant.token, bot.id)),
  );
  const tally: Tally = {
    fault,
    sent: 0,
    failed: 0,
    readServerErrors: 0,
    writeServerErrors: 0,
    lost: 0,
    slowestMs: 0,
  };
  const acknowledged: string[] = [];
  let running = true;
  const timed = async (
    write: boolean,
    run: () => Promise<{ status: number; body: { user_message?: { id: string } } }>,
  ) => {
    const started = performance.now();
    const response = await run().catch(() => ({ status: 0, body: {} as { user_message?: { id: string } } }));
    tally.sent++;
    tally.slowestMs = Math.max(tally.slowestMs, Math.round(performance.now() - started));
    if (response.status >= 400 || response.status === 0) tally.failed++;
    if (response.status >= 500 || response.status === 0) {
      if (write) tally.writeServerErrors++;
      else tally.readServerErrors++;
    }
    if (write && response.status === 201 && response.body.user_message)
      acknowledged.push(response.body.user_message.id);
  };
  const workers = conversations.map(async (conversation, worker) => {
    for (let index = 0; running; index++) {
      await timed(true, () =>
        api(app.url, "POST", `/api/conversations/${conversation.id}/messages`, {
          token: tenant.token,
          body: { content: `worker ${worker} message ${index}` },
        }),
      );
      await timed(false, () =>
        api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token }),
      );
      await sleep(20);
    }
  });
  await sleep(500);
  await inject();
  await sleep(1_000);
  running = false;
  await Promise.all(workers);
  const primary = new pg.Pool({ connectionString: app.config.databaseUrl, max: 1 });
  try {
    const found = await primary.query<{ id: string }>("SELECT id FROM messages WHERE id = ANY($1::uuid[])", [
      acknowledged,
    ]);
    tally.lost = acknowledged.length - found.rowCount!;
  } finally {
    await primary.end();
  }
  report.push(tally);
  return tally;
}

describe("Redis faults", () => {
  let stateDir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: TestApp;
  beforeAll(async () => {
    stateDir = mkdtempSync(join(platform().stateDir, "faults-redis-"));
    redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: await freePort() });
    app = await startTestApp("faults", (config) => config, { REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.process.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("Redis killed for 10 s: no 5xx, nothing lost", async () => {
    const tally = await underLoad(app, "Redis killed 10 s", async () => {
      await redis.process.stop();
      await sleep(10_000);
      redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: redis.port });
    });
    expect(tally).toMatchObject({ readServerErrors: 0, writeServerErrors: 0, lost: 0 });
    expect(tally.slowestMs).toBeLessThan(3_000);
  });

  it("Redis frozen for 10 s: no 5xx, nothing lost", async () => {
    const tally = await underLoad(app, "Redis frozen 10 s", async () => {
      const thaw = freeze(redis.process.pid);
      await sleep(10_000);
      thaw();
    });
    expect(tally).toMatchObject({ readServerErrors: 0, writeServerErrors: 0, lost: 0 });
    expect(tally.slowestMs).toBeLessThan(3_000);
  });
});

describe("PostgreSQL primary frozen", () => {
  let cluster: Awaited<ReturnType<typeof startPrivateCluster>>;
  let app: TestApp;
  beforeAll(async () => {
    cluster = await startPrivateCluster("faults");
    app = await startTestApp("faults", (config) => config, {}, cluster);
  });
  afterAll(async () => {
    await app?.close();
    await cluster?.stop();
  });

  it("primary frozen for 10 s: reads keep answering, writes fail fast with 503, nothing acknowledged is lost", async () => {
    const tally = await underLoad(app, "primary frozen 10 s", async () => {
      const thaw = freeze(cluster.primary.process.pid);
      await sleep(10_000);
      thaw();
    });
    expect(tally).toMatchObject({ readServerErrors: 0, lost: 0 });
    // A connection wait and a query timeout (1 s each) per step at most; generous for a shared
    // machine (5.1 s seen with the whole integration project running in parallel).
    expect(tally.slowestMs).toBeLessThan(8_000);
  });
});

describe("AI provider faults", () => {
  let fake: FakeOpenAi;
  let app: TestApp;
  beforeAll(async () => {
    fake = await startFakeOpenAi();
    app = await startTestApp(
      "faults",
      (config) => ({ ...config, ai: { ...config.ai, timeoutMs: 1_000, maxRetries: 1 } }),
      openAiEnv(fake),
    );
  });
  afterAll(async () => {
    await app?.close();
    await fake?.close();
  });

  it("provider hanging then failing for 5 s each: reads unaffected, writes bounded, nothing lost", async () => {
    const tally = await underLoad(app, "AI provider hanging 5 s then failing 5 s", async () => {
      fake.script.hang = true;
      await sleep(5_000);
      fake.release();
      fake.script.fail = Array(10_000).fill(500);
      await sleep(5_000);
      fake.script.fail = [];
    });
    expect(tally).toMatchObject({ readServerErrors: 0, lost: 0 });
    // Timeout and one retry with backoff: bounded well under the client's patience.
    expect(tally.slowestMs).toBeLessThan(3_500);
  });
});
