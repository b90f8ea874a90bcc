/**
 * The fault suite: bounded load on loopback (tests/support/app/load.ts: 4 workers posting messages and reading
 * history) while a dependency fails, each printing requests sent, failed and acknowledged writes lost
 * (every 201's message is looked up on the primary afterwards). Targets: no acknowledged write lost,
 * no 5xx where a fallback exists (reads; everything while Redis or a replica is down), writes without
 * a primary answered 503 + Retry-After within 2 s, bounded latency. This file: Redis and the AI
 * provider; PostgreSQL in faults-postgres.int.test.ts, process shutdown under load in
 * faults-shutdown.int.test.ts, slow and idle clients in faults-clients.int.test.ts (separate files
 * so vitest runs them in parallel).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis } from "../../scripts/platform";
import { type FakeOpenAi, openAiEnv, startFakeOpenAi } from "../../tests/support/app/fake-openai";
import { freeze } from "../../tests/support/app/faults";
import { startTestApp, type TestApp } from "../../tests/support/app/harness";
import { printReport, underLoad } from "../../tests/support/app/load";
import { platform } from "../../tests/support/platform";

afterAll(printReport);

const target = (app: TestApp) => ({ url: app.url, primaryUrl: app.config.databaseUrl });

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
    const tally = await underLoad(target(app), "Redis killed 10 s", async () => {
      await redis.process.stop();
      await sleep(10_000);
      redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: redis.port });
    });
    expect(tally).toMatchObject({ readServerErrors: 0, writeServerErrors: 0, lost: 0 });
    // Redis commands time out after 500 ms; generous for a loaded machine (2.98 s measured at a
    // load average of 29).
    expect(tally.slowestMs).toBeLessThan(5_000);
  });

  it("Redis frozen for 10 s: no 5xx, nothing lost", async () => {
    const tally = await underLoad(target(app), "Redis frozen 10 s", async () => {
      const thaw = await freeze(redis.process.pid);
      await sleep(10_000);
      await thaw();
    });
    expect(tally).toMatchObject({ readServerErrors: 0, writeServerErrors: 0, lost: 0 });
    // Redis commands time out after 500 ms; generous for a loaded machine (2.98 s measured at a
    // load average of 29).
    expect(tally.slowestMs).toBeLessThan(5_000);
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
    const tally = await underLoad(target(app), "AI provider hanging 5 s then failing 5 s", async () => {
      fake.script.hang = true;
      await sleep(5_000);
      fake.release();
      fake.script.fail = Array(10_000).fill(500);
      await sleep(5_000);
      fake.script.fail = [];
    });
    expect(tally).toMatchObject({ readServerErrors: 0, lost: 0 });
    // The circuit opened during the outage, and each 503 said when it lets a probe through.
    expect(tally.failures["503 ai_unavailable"]).toBeGreaterThan(0);
    expect(tally.unavailableWithoutRetryAfter).toBe(0);
    // Timeout and one retry with backoff: bounded well under the client's patience.
    expect(tally.slowestMs).toBeLessThan(5_000);
  });
});
