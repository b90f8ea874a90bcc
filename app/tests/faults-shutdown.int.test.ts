/**
 * SIGTERM under load with SSE streams open, on the app run as a real process (`node app/src/main.ts`,
 * as the container runs it): readiness turns 503 at once, new connections are still accepted for the
 * drain window (so load balancers that have not yet noticed lose nothing), in-flight requests and
 * open streams finish with their final event, the process exits 0 within SHUTDOWN_GRACE_MS, and no
 * acknowledged write is lost. Prints the same tally line as the fault suite.
 */
import { get } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, expect, it } from "vitest";
import {
  type ApiResponse,
  api,
  createChatbot,
  createConversation,
  jwtSecret,
  postMessageStream,
  readEvents,
  registerTenant,
  testConfig,
} from "../../tests/support/app/harness";
import { describeTally, missingOnPrimary, type Tally } from "../../tests/support/app/load";
import { type AppProcess, startAppProcess } from "../../tests/support/app/process";
import { loadConfig } from "../src/config";

const root = join(__dirname, "..", "..");
const graceMs = 10_000;
let app: AppProcess | undefined;

afterAll(() => {
  if (app && app.child.exitCode === null && app.child.signalCode === null) app.child.kill("SIGKILL");
});

/** GET on a connection of its own (no keep-alive pool): is a new connection accepted? */
const freshConnectionStatus = (url: string) =>
  new Promise<number>((resolve) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).once("error", () => resolve(0));
  });

it("SIGTERM under load with SSE streams open: 503 readiness at once, drains, exits 0, nothing lost", async () => {
  const { config, database } = await testConfig("shutdown");
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: database.primaryUrl,
    DATABASE_REPLICA_URL: database.replicaUrl,
    REDIS_URL: config.redisUrl,
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: "info",
    SHUTDOWN_GRACE_MS: String(graceMs),
    AI_SIMULATED_LATENCY_MS: "1500",
  };
  const drainMs = loadConfig(env).shutdownDrainMs;
  app = await startAppProcess(["--import", "tsx", "app/src/main.ts"], env, { cwd: root });
  const { child, url, exited } = app;

  const tenant = await registerTenant(url);
  const bot = await createChatbot(url, tenant.token);
  const conversations = await Promise.all(
    [0, 1, 2, 3, 4, 5, 6].map(() => createConversation(url, tenant.token, bot.id)),
  );

  // Load: 4 workers posting and reading until the process is gone.
  interface Outcome {
    startedAt: number;
    status: number;
  }
  const outcomes: Outcome[] = [];
  const acknowledged: string[] = [];
  let gone = false;
  void exited.then(() => (gone = true));
  const send = async (run: () => Promise<ApiResponse>) => {
    const startedAt = performance.now();
    const response = await run().catch(() => undefined);
    outcomes.push({ startedAt, status: response?.status ?? 0 });
    return response;
  };
  const workers = conversations.slice(0, 4).map(async (conversation, worker) => {
    for (let index = 0; !gone; index++) {
      const posted = await send(() =>
        api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
          token: tenant.token,
          body: { content: `worker ${worker} message ${index}` },
        }),
      );
      if (posted?.status === 201) acknowledged.push(posted.body.user_message.id);
      await send(() =>
        api(url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token }),
      );
      await sleep(20);
    }
  });
  await sleep(1_000);

  // Three streams whose replies take 1.5 s: open (headers received) when SIGTERM arrives.
  const streams = await Promise.all(
    conversations
      .slice(4)
      .map((conversation) =>
        postMessageStream(url, tenant.token, conversation.id, "What are your opening hours?"),
      ),
  );
  const streamEvents = Promise.all(streams.map((stream) => readEvents(stream)));
  await sleep(200);

  const signalledAt = performance.now();
  child.kill("SIGTERM");
  await sleep(50);
  const readiness = await api(url, "GET", "/readyz");
  const readinessAt = performance.now() - signalledAt;
  await sleep(drainMs / 2);
  const lateConnection = await freshConnectionStatus(`${url}/healthz`);

  const events = await streamEvents;
  const { code, at } = await exited;
  await Promise.all(workers);

  const drainEnd = signalledAt + drainMs;
  const beforeDrainEnd = outcomes.filter((outcome) => outcome.startedAt < drainEnd - 200);
  const afterDrainEnd = outcomes.filter((outcome) => outcome.startedAt >= drainEnd - 200);
  const tally: Tally = {
    fault: "SIGTERM under load with 3 SSE streams open",
    sent: outcomes.length + streams.length,
    failed: outcomes.filter((outcome) => outcome.status === 0 || outcome.status >= 400).length,
    readServerErrors: 0,
    writeServerErrors: outcomes.filter((outcome) => outcome.status >= 500).length,
    writeErrorsWithoutRetryAfter: 0,
    unavailableWithoutRetryAfter: 0,
    connectionErrors: outcomes.filter((outcome) => outcome.status === 0).length,
    lost: await missingOnPrimary(database.primaryUrl, acknowledged),
    slowestMs: 0,
    slowestFailedWriteMs: 0,
    failures: {},
  };
  console.log(
    `${describeTally(tally)}; ${beforeDrainEnd.length} requests started before the drain window ended (${drainMs} ms), ${beforeDrainEnd.filter((o) => o.status === 0).length} refused; ${afterDrainEnd.filter((o) => o.status === 0).length} refused after it; readiness ${readiness.status} ${Math.round(readinessAt)} ms after SIGTERM; exit ${code} after ${Math.round(at - signalledAt)} ms`,
  );

  expect(readiness.status).toBe(503);
  expect(readiness.body.status).toBe("shutting_down");
  expect(lateConnection).toBe(200);
  for (const streamed of events) expect(streamed.at(-1)?.event).toBe("done");
  expect(beforeDrainEnd.filter((outcome) => outcome.status === 0 || outcome.status >= 500)).toEqual([]);
  expect(outcomes.filter((outcome) => outcome.status >= 500)).toEqual([]);
  expect(acknowledged.length).toBeGreaterThan(0);
  expect(tally.lost).toBe(0);
  expect(code).toBe(0);
  expect(at - signalledAt).toBeLessThan(graceMs);
  expect(app.output()).toContain("shutdown complete");
}, 120_000);
