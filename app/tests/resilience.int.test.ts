/**
 * Dependencies failing: Redis stopped under traffic (circuit opens, the API keeps serving from
 * PostgreSQL without per-request timeouts, the circuit closes when Redis returns), a dead replica
 * (reads fall back to the primary), rate limits (429 + Retry-After, fail open), graceful shutdown.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startRedis } from "../../scripts/platform";
import { eventually } from "../../tests/support/app/faults";
import {
  api,
  createChatbot,
  createConversation,
  postMessageStream,
  registerTenant,
  startTestApp,
  type TestApp,
  testConfig,
} from "../../tests/support/app/harness";
import { platform } from "../../tests/support/platform";
import { startParley } from "../src/main";

const metricValue = async (base: string, pattern: RegExp) => {
  const match = pattern.exec(String((await api(base, "GET", "/metrics")).body));
  return match ? Number(match[1]) : undefined;
};
const redisCircuit = /parley_circuit_state\{dependency="redis"\} (\d)/;

describe("Redis outage", () => {
  let stateDir: string;
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let app: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    stateDir = mkdtempSync(join(platform().stateDir, "redis-outage-"));
    redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: await freePort() });
    const { config } = await testConfig("outage", { REDIS_URL: redis.url });
    // Pages written during the outage are read from the primary while pinned: keep that short.
    config.readYourWritesMs = 1_000;
    app = await startParley(config, { log: pino({ level: "silent" }) });
  });

  afterAll(async () => {
    await app?.close();
    await redis?.process.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("keeps serving from PostgreSQL with the circuit open, and closes it when Redis returns", async () => {
    const tenant = await registerTenant(app.url);
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    const read = () =>
      api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token });
    expect(await metricValue(app.url, redisCircuit)).toBe(0);

    await redis.process.stop();
    await eventually(async () => (await metricValue(app.url, redisCircuit)) === 2, "the circuit to open");
    const failOpenBefore =
      (await metricValue(app.url, /parley_rate_limit_fail_open_total\{limiter="user"\} (\d+)/)) ?? 0;
    const started = performance.now();
    for (let index = 0; index < 5; index++) {
      const posted = await api(app.url, "POST", `/api/conversations/${conversation.id}/messages`, {
        token: tenant.token,
        body: { content: `while redis is down ${index}` },
      });
      expect(posted.status).toBe(201);
      const page = await read();
      expect(page.status).toBe(200);
      expect(page.body.items[0].id).toBe(posted.body.assistant_message.id);
    }
    // Ten requests with no Redis timeouts in them (the command timeout alone would be 500 ms each).
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await metricValue(app.url, redisCircuit)).toBe(2);
    expect(await metricValue(app.url, /parley_rate_limit_fail_open_total\{limiter="user"\} (\d+)/)).toBe(
      failOpenBefore + 10,
    );
    expect(
      await metricValue(app.url, /parley_cache_requests_total\{cache="messages",result="error"\} (\d+)/),
    ).toBe(5);

    redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: redis.port });
    await eventually(async () => (await metricValue(app.url, redisCircuit)) === 0, "the circuit to close");
    // Cached again once back and past the pin: the second read of a page is a hit.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    await read();
    await read();
    expect(
      await metricValue(app.url, /parley_cache_requests_total\{cache="messages",result="hit"\} (\d+)/),
    ).toBeGreaterThan(0);
  });
});

describe("replica down", () => {
  let app: TestApp;
  beforeAll(async () => {
    const deadPort = await freePort();
    app = await startTestApp("noreplica", (config) => ({
      ...config,
      databaseReplicaUrls: [`postgres://postgres@127.0.0.1:${deadPort}/postgres`],
    }));
  });
  afterAll(() => app?.close());

  it("stays ready and reads from the primary", async () => {
    expect(await api(app.url, "GET", "/readyz")).toMatchObject({
      status: 200,
      body: { primary: true, replica_in_use: false },
    });
    const tenant = await registerTenant(app.url);
    const bot = await createChatbot(app.url, tenant.token);
    expect((await api(app.url, "GET", `/api/chatbots/${bot.id}`, { token: tenant.token })).status).toBe(200);
    expect((await api(app.url, "GET", "/api/chatbots", { token: tenant.token })).body.items).toHaveLength(1);
  });
});

describe("primary down", () => {
  it("is alive but not ready, and logs the 503 readiness answer at info", async () => {
    const { config } = await testConfig("noprimary");
    const deadPort = await freePort();
    const lines: Array<{ level: number; route?: string; status?: number }> = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const app = await startParley(
      {
        ...config,
        databaseUrl: `postgres://postgres@127.0.0.1:${deadPort}/postgres`,
        databaseReplicaUrls: [],
      },
      { log },
    );
    try {
      expect((await api(app.url, "GET", "/healthz")).status).toBe(200);
      expect(await api(app.url, "GET", "/readyz")).toMatchObject({
        status: 503,
        body: { status: "unavailable", primary: false },
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const readiness = lines.find((line) => line.route === "/readyz");
      expect(readiness).toMatchObject({ status: 503, level: 30 });
    } finally {
      await app.close();
    }
  });
});

describe("rate limits", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp("ratelimit", (config) => ({
      ...config,
      rateLimits: {
        ip: { limit: 30, windowSeconds: 60 },
        user: { limit: 5, windowSeconds: 60 },
        login: { limit: 3, windowSeconds: 60 },
        register: { limit: 100, windowSeconds: 3600 },
      },
    }));
  });
  afterAll(() => app?.close());

  it("limits logins per IP more strictly, with Retry-After", async () => {
    const login = (ip: string) =>
      api(app.url, "POST", "/api/auth/login", {
        body: { email: "nobody@example.com", password: "guess" },
        headers: { "x-forwarded-for": ip },
      });
    for (let attempt = 0; attempt < 3; attempt++) expect((await login("203.0.113.1")).status).toBe(401);
    const limited = await login("203.0.113.1");
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect((await login("203.0.113.2")).status).toBe(401);
    // CF-Connecting-IP names the client only when every hop is a configured proxy: here the peer
    // (loopback, trusted by default) forwards for 203.0.113.1, which is not one, so the header is
    // ignored and the attempt counts against 203.0.113.1.
    const spoofed = await api(app.url, "POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "guess" },
      headers: { "x-forwarded-for": "203.0.113.1", "cf-connecting-ip": "198.18.0.5" },
    });
    expect(spoofed.status).toBe(429);
    // Straight from the trusted proxy, CF-Connecting-IP is the client.
    const viaCdn = await api(app.url, "POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "guess" },
      headers: { "cf-connecting-ip": "198.18.0.5" },
    });
    expect(viaCdn.status).toBe(401);
  });

  it("limits each user, and each IP across users", async () => {
    const headers = { "x-forwarded-for": "198.51.100.7" };
    const first = await registerTenant(app.url);
    const get = (token: string) => api(app.url, "GET", "/api/chatbots", { token, headers });
    for (let index = 0; index < 5; index++) expect((await get(first.token)).status).toBe(200);
    const limited = await get(first.token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeTruthy();
    const second = await registerTenant(app.url);
    expect((await get(second.token)).status).toBe(200);
    const text = String((await api(app.url, "GET", "/metrics")).body);
    expect(text).toMatch(/parley_rate_limited_total\{limiter="user"\} 1/);
    expect(text).toMatch(/parley_rate_limited_total\{limiter="login"\} 2/);
    const ipHeaders = { "x-forwarded-for": "192.0.2.9" };
    const tenants = await Promise.all(Array.from({ length: 7 }, () => registerTenant(app.url)));
    const statuses = [];
    for (const tenant of tenants)
      for (let index = 0; index < 5; index++)
        statuses.push(
          (await api(app.url, "GET", "/api/chatbots", { token: tenant.token, headers: ipHeaders })).status,
        );
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    expect(String((await api(app.url, "GET", "/metrics")).body)).toMatch(
      /parley_rate_limited_total\{limiter="ip"\} 5/,
    );
  });
});

describe("graceful shutdown", () => {
  it("turns readiness 503 at once, finishes in-flight requests and streams, then closes", async () => {
    const { config } = await testConfig("shutdown");
    config.ai.simulatedLatencyMs = 800;
    config.shutdownDrainMs = 300;
    const app = await startParley(config, { log: pino({ level: "silent" }) });
    const tenant = await registerTenant(app.url);
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    const inFlight = api(app.url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: tenant.token,
      body: { content: "What are your opening hours?" },
    });
    const stream = postMessageStream(
      app.url,
      tenant.token,
      conversation.id,
      "How much does the team plan cost?",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closeStarted = performance.now();
    const closed = app.close();
    expect((await api(app.url, "GET", "/readyz")).status).toBe(503);
    expect((await inFlight).status).toBe(201);
    const streamed = await (await stream).text();
    expect(streamed).toContain("event: done");
    await closed;
    // Done when the work is, well inside the grace period.
    expect(performance.now() - closeStarted).toBeLessThan(config.shutdownGraceMs / 2);
    await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
  });
});
