/**
 * The OpenAI-compatible provider against a local fake server speaking the chat-completions protocol:
 * non-streaming and streaming replies, conversation history, usage-based token counts, retries on
 * 5xx, no retry on 4xx, timeouts, and the Redis response cache for identical prompts.
 */
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
let app: TestApp;
let tenant: Tenant;
let chatbotId: string;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  app = await startTestApp(
    "openai",
    (config) => ({ ...config, ai: { ...config.ai, timeoutMs: 600, maxRetries: 2 } }),
    openAiEnv(fake),
  );
  tenant = await registerTenant(app.url);
  chatbotId = (await createChatbot(app.url, tenant.token)).id;
});

afterAll(async () => {
  await app?.close();
  await fake?.close();
});

beforeEach(() => {
  fake.reset();
  fake.script.pieceDelayMs = 5;
});

const newConversation = async () => (await createConversation(app.url, tenant.token, chatbotId)).id;
const post = (conversationId: string, content: string) =>
  api(app.url, "POST", `/api/conversations/${conversationId}/messages`, {
    token: tenant.token,
    body: { content },
  });

describe("OpenAI-compatible provider", () => {
  it("answers without streaming, sending the system prompt, knowledge, history and API key", async () => {
    const conversation = await newConversation();
    const first = await post(conversation, "first question");
    expect(first.status).toBe(201);
    expect(first.body.assistant_message.content).toBe("You said: first question");
    const second = await post(conversation, "second question");
    expect(second.body.assistant_message.content).toBe("You said: second question");
    expect(fake.received).toHaveLength(2);
    const body = fake.received[1]!;
    expect(fake.authorizations[1]).toBe("Bearer sk-fake");
    expect(body.model).toBe("fake-model");
    expect(body.stream).toBe(false);
    expect(body.messages[0]!.role).toBe("system");
    expect(body.messages[0]!.content).toContain("Be brief.");
    expect(body.messages[0]!.content).toContain("What are your opening hours?");
    expect(body.messages.slice(1)).toEqual([
      { role: "user", content: "first question" },
      { role: "assistant", content: "You said: first question" },
      { role: "user", content: "second question" },
    ]);
    const metrics = String((await api(app.url, "GET", "/metrics")).body);
    expect(metrics).toContain(
      'parley_ai_tokens_total{provider="openai",model="fake-model",kind="prompt"} 22',
    );
    expect(metrics).toContain(
      'parley_ai_tokens_total{provider="openai",model="fake-model",kind="completion"} 14',
    );
    expect(metrics).toMatch(
      /parley_ai_response_duration_seconds_count\{provider="openai",model="fake-model",outcome="success"\} 2/,
    );
  });

  it("streams the provider's chunks as SSE token events", async () => {
    const conversation = await newConversation();
    const response = await postMessageStream(app.url, tenant.token, conversation, "stream this");
    const events = await readEvents(response);
    expect(events.map((event) => event.event)).toEqual(["token", "token", "token", "done"]);
    expect(events.slice(0, 3).map((event) => event.data.text)).toEqual(["You ", "said: ", "stream this"]);
    expect(events[3]!.data.assistant_message.content).toBe("You said: stream this");
    expect(fake.received[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("finishes and stores a streamed reply when the client goes away", async () => {
    const conversation = await newConversation();
    fake.script.pieceDelayMs = 100;
    const abort = new AbortController();
    const response = await postMessageStream(app.url, tenant.token, conversation, "leaving early", {
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("event: token");
    abort.abort();
    let contents: string[] = [];
    for (let attempt = 0; attempt < 40 && contents.length < 2; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const page = await api(app.url, "GET", `/api/conversations/${conversation}/messages`, {
        token: tenant.token,
      });
      contents = page.body.items.map((message: { content: string }) => message.content);
    }
    expect(contents).toEqual(["You said: leaving early", "leaving early"]);
  });

  it("answers an identical prompt from the response cache", async () => {
    const [one, two] = [await newConversation(), await newConversation()];
    expect((await post(one, "cache me")).body.assistant_message.content).toBe("You said: cache me");
    expect((await post(two, "cache me")).body.assistant_message.content).toBe("You said: cache me");
    expect(fake.received).toHaveLength(1);
  });

  it("retries 5xx and 429 a bounded number of times", async () => {
    const conversation = await newConversation();
    fake.script.fail = [500, 429];
    const recovered = await post(conversation, "flaky");
    expect(recovered.status).toBe(201);
    expect(fake.received).toHaveLength(3);
    fake.received.length = 0;
    fake.script.fail = [503, 503, 503, 503];
    const failed = await post(conversation, "down");
    expect(failed).toMatchObject({ status: 502, body: { error: { code: "ai_failed" } } });
    expect(fake.received).toHaveLength(3);
  });

  it("does not retry a 4xx and stores nothing when the provider fails", async () => {
    const conversation = await newConversation();
    fake.script.fail = [400];
    const failed = await post(conversation, "bad request");
    expect(failed.status).toBe(502);
    expect(fake.received).toHaveLength(1);
    const page = await api(app.url, "GET", `/api/conversations/${conversation}/messages`, {
      token: tenant.token,
    });
    expect(page.body.items).toEqual([]);
  });

  it("times out a slow provider", async () => {
    const conversation = await newConversation();
    fake.script.delayMs = 1_500;
    const started = performance.now();
    const slow = await post(conversation, "slow");
    expect(slow).toMatchObject({ status: 504, body: { error: { code: "ai_timeout" } } });
    // Three attempts of 600 ms plus backoff, not the provider's full delay each.
    expect(performance.now() - started).toBeLessThan(3_500);
    expect(fake.received).toHaveLength(3);
  });
});
