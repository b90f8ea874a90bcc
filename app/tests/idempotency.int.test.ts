/**
 * Idempotency-Key semantics (the IETF Idempotency-Key draft): concurrent duplicates, spread over two
 * app processes sharing the database and Redis, ask the assistant once and all get the first
 * exchange; the same key with a different body is a 422; an SSE replay carries
 * `Idempotent-Replayed`; a failed reply frees the key for a retry.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeOpenAi, openAiEnv, startFakeOpenAi } from "../../tests/support/app/fake-openai";
import {
  api,
  createChatbot,
  createConversation,
  postMessageStream,
  readEvents,
  registerTenant,
  startTestApp,
  type Tenant,
  type TestApp,
} from "../../tests/support/app/harness";

let fake: FakeOpenAi;
let first: TestApp;
let second: TestApp;
let tenant: Tenant;
let chatbotId: string;
let primary: pg.Pool;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  const quick = (config: TestApp["config"]) => ({
    ...config,
    ai: { ...config.ai, timeoutMs: 2_000, maxRetries: 0 },
  });
  first = await startTestApp("idempotency", quick, openAiEnv(fake));
  // A second pod: same database, same Redis.
  second = await startTestApp(
    "idempotency",
    quick,
    { ...openAiEnv(fake), REDIS_URL: first.config.redisUrl },
    first.database,
  );
  tenant = await registerTenant(first.url);
  chatbotId = (await createChatbot(first.url, tenant.token)).id;
  primary = new pg.Pool({ connectionString: first.database.primaryUrl, max: 2 });
});
afterAll(async () => {
  await Promise.all([first?.close(), second?.close()]);
  await primary?.end();
  await fake?.close();
});
beforeEach(() => fake.reset());

const post = (base: string, conversationId: string, content: string, key: string) =>
  api(base, "POST", `/api/conversations/${conversationId}/messages`, {
    token: tenant.token,
    body: { content },
    headers: { "idempotency-key": key },
  });
const storedMessages = async (conversationId: string) =>
  (
    await primary.query("SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1", [
      conversationId,
    ])
  ).rows[0].n as number;

describe("Idempotency-Key", () => {
  it("asks the assistant once for 20 concurrent duplicates spread over two pods", async () => {
    const conversation = await createConversation(first.url, tenant.token, chatbotId);
    fake.script.delayMs = 300;
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        post(index % 2 ? second.url : first.url, conversation.id, "What are your opening hours?", key),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(20).fill(201));
    expect(fake.received).toHaveLength(1);
    expect(new Set(responses.map((response) => response.body.assistant_message.id)).size).toBe(1);
    expect(
      responses.filter((response) => response.headers.get("idempotent-replayed") === "true"),
    ).toHaveLength(19);
    expect(await storedMessages(conversation.id)).toBe(2);
  });

  it("answers 422 to the same key with a different body, storing nothing", async () => {
    const conversation = await createConversation(first.url, tenant.token, chatbotId);
    const key = randomUUID();
    expect((await post(first.url, conversation.id, "first question", key)).status).toBe(201);
    const other = await post(second.url, conversation.id, "another question", key);
    expect(other).toMatchObject({ status: 422, body: { error: { code: "idempotency_key_reused" } } });
    expect(other.body.error.message).toContain("different body");
    expect(await storedMessages(conversation.id)).toBe(2);
    expect(fake.received).toHaveLength(1);
  });

  it("marks an SSE replay with Idempotent-Replayed and streams the first reply again", async () => {
    const conversation = await createConversation(first.url, tenant.token, chatbotId);
    const headers = { "idempotency-key": randomUUID() };
    const original = await postMessageStream(first.url, tenant.token, conversation.id, "stream me", {
      headers,
    });
    expect(original.headers.get("idempotent-replayed")).toBeNull();
    const originalEvents = await readEvents(original);
    const replay = await postMessageStream(second.url, tenant.token, conversation.id, "stream me", {
      headers,
    });
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const events = await readEvents(replay);
    const done = events.find((event) => event.event === "done")!;
    expect(done.data).toEqual(originalEvents.find((event) => event.event === "done")!.data);
    const streamed = events.filter((event) => event.event === "token").map((event) => event.data.text);
    expect(streamed.join("")).toBe(done.data.assistant_message.content);
    expect(fake.received).toHaveLength(1);
  });

  it("frees the key when the reply fails, so a retry asks again", async () => {
    const conversation = await createConversation(first.url, tenant.token, chatbotId);
    const key = randomUUID();
    fake.script.fail = [400];
    expect((await post(first.url, conversation.id, "fails once", key)).status).toBe(502);
    const retried = await post(second.url, conversation.id, "fails once", key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(fake.received).toHaveLength(2);
    expect(await storedMessages(conversation.id)).toBe(2);
  });
});
