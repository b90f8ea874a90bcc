/**
 * No acknowledged message goes missing from its author's reads whatever Redis does: a message written
 * while Redis is frozen (circuit open, so its cache invalidation is lost) is in the history as soon as
 * Redis answers again — on the pod that wrote it, within and after its read-your-writes pin, and on
 * another pod sharing the Redis.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, startRedis } from "../../scripts/platform";
import { eventually, freeze } from "../../tests/support/app/faults";
import {
  api,
  createChatbot,
  createConversation,
  registerTenant,
  startTestApp,
  type TestApp,
} from "../../tests/support/app/harness";
import { platform } from "../../tests/support/platform";

let stateDir: string;
let redis: Awaited<ReturnType<typeof startRedis>>;
let writer: TestApp;
let reader: TestApp;

beforeAll(async () => {
  stateDir = mkdtempSync(join(platform().stateDir, "stale-history-"));
  redis = await startRedis({ bin: platform().binaries.redisServer, stateDir, port: await freePort() });
  const shortPins = (config: TestApp["config"]) => ({ ...config, readYourWritesMs: 1_000 });
  writer = await startTestApp("stale", shortPins, { REDIS_URL: redis.url });
  reader = await startTestApp("stale", shortPins, { REDIS_URL: redis.url }, writer.database);
});
afterAll(async () => {
  await Promise.all([writer?.close(), reader?.close()]);
  await redis?.process.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const circuit = async (app: TestApp) =>
  Number(
    /parley_circuit_state\{dependency="redis"\} (\d)/.exec(
      String((await api(app.url, "GET", "/metrics")).body),
    )?.[1],
  );

it("shows a message written while Redis was frozen once Redis answers again, on every pod", async () => {
  const tenant = await registerTenant(writer.url);
  const bot = await createChatbot(writer.url, tenant.token);
  const conversation = await createConversation(writer.url, tenant.token, bot.id);
  const history = async (app: TestApp) =>
    (
      await api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token })
    ).body.items.map((message: { id: string }) => message.id) as string[];
  const post = (content: string) =>
    api(writer.url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: tenant.token,
      body: { content },
    });
  expect((await post("before the blip")).status).toBe(201);
  await sleep(1_100); // past the pin: the next reads fill the cache
  await history(writer);
  await history(reader);
  expect(await history(writer)).toHaveLength(2);

  const thaw = await freeze(redis.process.pid);
  let written: string;
  try {
    // Commands time out (500 ms each) until the circuit opens.
    await eventually(async () => {
      await history(writer);
      return (await circuit(writer)) === 2;
    }, "the writer's Redis circuit to open");
    const posted = await post("during the blip");
    expect(posted.status).toBe(201);
    written = posted.body.user_message.id;
  } finally {
    await thaw();
  }
  // Every read while the circuit recovers (reads are what probe it), and after, has the message.
  await eventually(async () => {
    expect(await history(writer)).toContain(written);
    return (await circuit(writer)) === 0;
  }, "the writer's Redis circuit to close");
  await sleep(1_100);
  expect(await history(writer)).toContain(written);
  await eventually(async () => {
    expect(await history(reader)).toContain(written);
    return (await circuit(reader)) === 0;
  }, "the reader's Redis circuit to close");
  expect(await history(reader)).toContain(written);
});
