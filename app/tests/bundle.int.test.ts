/**
 * The built artifact: `npm run build:app`'s bundle run exactly as the container runs it
 * (`node dist/app/main.js`) with environment variables, migrated by `node dist/app/main.js migrate`;
 * it becomes ready, serves the API, and on SIGTERM turns readiness 503, finishes the in-flight
 * request and exits 0.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  api,
  createChatbot,
  createConversation,
  jwtSecret,
  registerTenant,
} from "../../tests/support/app/harness";
import { type AppProcess, startAppProcess } from "../../tests/support/app/process";
import { createTestDatabase, createTestRedisUrl } from "../../tests/support/platform";
import { buildApp } from "../build";

const root = join(__dirname, "..", "..");
let app: AppProcess | undefined;
let env: NodeJS.ProcessEnv;
let bundle: string;

beforeAll(async () => {
  bundle = await buildApp(root);
  const database = await createTestDatabase("bundle");
  env = {
    PATH: process.env.PATH,
    DATABASE_URL: database.primaryUrl,
    DATABASE_REPLICA_URL: database.replicaUrl,
    REDIS_URL: await createTestRedisUrl(),
    JWT_SECRET: jwtSecret,
    SHUTDOWN_GRACE_MS: "4000",
    AI_SIMULATED_LATENCY_MS: "700",
    APP_VERSION: "1.2.3",
    APP_COMMIT: "abc1234",
  };
}, 120_000);

afterAll(() => {
  if (app && app.child.exitCode === null) app.child.kill("SIGKILL");
});

it("migrates, starts, serves and shuts down gracefully on SIGTERM", async () => {
  const migrated = spawnSync(process.execPath, [bundle, "migrate"], { env, encoding: "utf8" });
  expect(migrated.stderr).toBe("");
  expect(migrated.stdout).toMatch(/^migrate: schema up to date/);
  expect(migrated.status).toBe(0);

  app = await startAppProcess([bundle], env);
  const { child, url: base, exited } = app;
  const metrics = String((await api(base, "GET", "/metrics")).body);
  expect(metrics).toContain('parley_build_info{version="1.2.3",commit="abc1234"} 1');
  expect((await api(base, "GET", "/")).status).toBe(200);

  const tenant = await registerTenant(base);
  const bot = await createChatbot(base, tenant.token);
  const conversation = await createConversation(base, tenant.token, bot.id);
  const inFlight = api(base, "POST", `/api/conversations/${conversation.id}/messages`, {
    token: tenant.token,
    body: { content: "What are your opening hours?" },
  });
  await new Promise((resolve) => setTimeout(resolve, 200));
  child.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect((await api(base, "GET", "/readyz")).status).toBe(503);
  const answered = await inFlight;
  expect(answered.status).toBe(201);
  expect(answered.body.assistant_message.content).toBe("We are open nine to five on weekdays.");
  expect((await exited).code).toBe(0);

  const output = app.output();
  const lines = output
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));
  expect(lines.map((line) => line.msg)).toEqual(
    expect.arrayContaining(["parley listening", "shutdown complete"]),
  );
  expect(output).not.toContain(tenant.password);
  expect(output).not.toContain(tenant.token);
});

it("exits non-zero with one readable line on a bad environment", () => {
  const result = spawnSync(process.execPath, [bundle], {
    env: {
      PATH: process.env.PATH,
      PORT: "http",
      DATABASE_URL: "postgres://x/y",
      REDIS_URL: "redis://x",
      JWT_SECRET: jwtSecret,
    },
    encoding: "utf8",
  });
  expect(result.status).toBe(1);
  expect(result.stderr.trim()).toBe('Invalid environment: PORT="http": expected an integer from 0 to 65535');
});
