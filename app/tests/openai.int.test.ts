/**
 * The OpenAI-compatible provider against a local fake server speaking the chat-completions protocol:
 * non-streaming and streaming replies, conversation history, usage-based token counts, retries on
 * 5xx, no retry on 4xx, timeouts, and the Redis response cache for identical prompts.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
} from "./harness";

interface ChatRequest {
  model: string;
  stream: boolean;
  stream_options?: { include_usage: boolean };
  messages: Array<{ role: string; content: string }>;
}

/** What the fake answers next; `fail` statuses come first, one per request. */
const script: { fail: number[]; delayMs: number; pieceDelayMs: number } = {
  fail: [],
  delayMs: 0,
  pieceDelayMs: 5,
};
const received: Array<{ authorization?: string; body: ChatRequest }> = [];

const readBody = async (request: IncomingMessage) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  return JSON.parse(text) as ChatRequest;
};

function fakeOpenAi(): Server {
  return createServer(async (request, response) => {
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404).end();
      return;
    }
    const body = await readBody(request);
    received.push({ authorization: request.headers.authorization, body });
    const status = script.fail.shift();
    if (status) {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `scripted ${status}` } }));
      return;
    }
    if (script.delayMs) await new Promise((resolve) => setTimeout(resolve, script.delayMs));
    const last = body.messages.at(-1)!.content;
    const pieces = ["You ", "said: ", last];
    const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
    if (!body.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion",
          model: body.model,
          choices: [
            { index: 0, message: { role: "assistant", content: pieces.join("") }, finish_reason: "stop" },
          ],
          usage,
        }),
      );
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    const send = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    send({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { role: "assistant" } }] });
    for (const piece of pieces) {
      send({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: piece } }] });
      await new Promise((resolve) => setTimeout(resolve, script.pieceDelayMs));
    }
    send({
      id: "c",
      object: "chat.completion.chunk",
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    });
    if (body.stream_options?.include_usage)
      send({ id: "c", object: "chat.completion.chunk", choices: [], usage });
    response.end("data: [DONE]\n\n");
  });
}

let fake: Server;
let app: TestApp;
let tenant: Tenant;
let chatbotId: string;

beforeAll(async () => {
  fake = fakeOpenAi();
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const { port } = fake.address() as AddressInfo;
  app = await startTestApp(
    "openai",
    (config) => ({ ...config, ai: { ...config.ai, timeoutMs: 600, maxRetries: 2 } }),
    {
      AI_PROVIDER: "openai",
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      OPENAI_API_KEY: "sk-fake",
      OPENAI_MODEL: "fake-model",
    },
  );
  tenant = await registerTenant(app.url);
  chatbotId = (await createChatbot(app.url, tenant.token)).id;
});

afterAll(async () => {
  await app?.close();
  await new Promise((resolve) => fake?.close(resolve));
});

beforeEach(() => {
  received.length = 0;
  script.fail = [];
  script.delayMs = 0;
  script.pieceDelayMs = 5;
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
    expect(received).toHaveLength(2);
    const { authorization, body } = received[1]!;
    expect(authorization).toBe("Bearer sk-fake");
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
    expect(received[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("finishes and stores a streamed reply when the client goes away", async () => {
    const conversation = await newConversation();
    script.pieceDelayMs = 100;
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
    expect(received).toHaveLength(1);
  });

  it("retries 5xx and 429 a bounded number of times", async () => {
    const conversation = await newConversation();
    script.fail = [500, 429];
    const recovered = await post(conversation, "flaky");
    expect(recovered.status).toBe(201);
    expect(received).toHaveLength(3);
    received.length = 0;
    script.fail = [503, 503, 503, 503];
    const failed = await post(conversation, "down");
    expect(failed).toMatchObject({ status: 502, body: { error: { code: "ai_failed" } } });
    expect(received).toHaveLength(3);
  });

  it("does not retry a 4xx and stores nothing when the provider fails", async () => {
    const conversation = await newConversation();
    script.fail = [400];
    const failed = await post(conversation, "bad request");
    expect(failed.status).toBe(502);
    expect(received).toHaveLength(1);
    const page = await api(app.url, "GET", `/api/conversations/${conversation}/messages`, {
      token: tenant.token,
    });
    expect(page.body.items).toEqual([]);
  });

  it("times out a slow provider", async () => {
    const conversation = await newConversation();
    script.delayMs = 1_500;
    const started = performance.now();
    const slow = await post(conversation, "slow");
    expect(slow).toMatchObject({ status: 504, body: { error: { code: "ai_timeout" } } });
    // Three attempts of 600 ms plus backoff, not the provider's full delay each.
    expect(performance.now() - started).toBeLessThan(3_500);
    expect(received).toHaveLength(3);
  });
});
