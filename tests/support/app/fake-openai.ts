/**
 * A local OpenAI-compatible chat-completions server (the real one is not reachable from here) for the
 * tests and the AI-savings bench (app/bench/ai-savings.ts), which count, delay, hang or fail the
 * assistant: it answers "You said: <last message>" (or, with `knowledgeReply`, the knowledge entry
 * closest to the question) with fixed usage (`fakeUsage`), records each request, and `script`
 * decides the next answers.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeChatRequest {
  model: string;
  stream: boolean;
  stream_options?: { include_usage: boolean };
  max_completion_tokens?: number;
  messages: Array<{ role: string; content: string }>;
}

/** The usage every answer reports. */
export const fakeUsage = { prompt_tokens: 11, completion_tokens: 7 };

/** The default reply, in the pieces a stream sends: "You ", "said: ", then the last message. */
export const echoReply = (request: FakeChatRequest) => [
  "You ",
  "said: ",
  request.messages.at(-1)?.content ?? "",
];

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);

/**
 * A reply from the knowledge in the system prompt (`Q: ...` / `A: ...` lines): the answer whose
 * question shares most words with the user's message, a word per piece so a client can watch it grow.
 */
export function knowledgeReply(request: FakeChatRequest): string[] {
  const system = request.messages.find((message) => message.role === "system")?.content ?? "";
  const question = request.messages.at(-1)?.content ?? "";
  const asked = words(question);
  let best = { score: 0, answer: `I have nothing on “${question}” yet.` };
  for (const [, entryQuestion, answer] of system.matchAll(/^Q: (.*)\nA: (.*)$/gm)) {
    const score = [...words(entryQuestion!)].filter((word) => asked.has(word)).length;
    if (score > best.score) best = { score, answer: answer! };
  }
  return best.answer.match(/\S+\s*/g) ?? [best.answer];
}

export interface FakeOpenAi {
  baseUrl: string;
  /** Request bodies received so far. */
  received: FakeChatRequest[];
  /** The Authorization header of each received request, in the same order. */
  authorizations: Array<string | undefined>;
  script: {
    /** Statuses answered first, one per request. */
    fail: number[];
    /** Wait before answering. */
    delayMs: number;
    /** Wait between the streamed pieces of a reply. */
    pieceDelayMs: number;
    /** Never answer (until `release()`). */
    hang: boolean;
    /** The reply to a request, in the pieces a stream sends (joined when not streaming). */
    reply: (request: FakeChatRequest) => string[];
  };
  /** Answers every hanging request with a 503 and stops hanging. */
  release(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const hanging = new Set<() => void>();
  const fake: Omit<FakeOpenAi, "baseUrl" | "close"> = {
    received: [],
    authorizations: [],
    script: { fail: [], delayMs: 0, pieceDelayMs: 0, hang: false, reply: echoReply },
    release() {
      fake.script.hang = false;
      for (const answer of hanging) answer();
      hanging.clear();
    },
    reset() {
      fake.release();
      fake.received.length = 0;
      fake.authorizations.length = 0;
      fake.script.fail = [];
      fake.script.delayMs = 0;
      fake.script.pieceDelayMs = 0;
      fake.script.reply = echoReply;
    },
  };
  const server: Server = createServer(async (request, response) => {
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404).end();
      return;
    }
    let text = "";
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as FakeChatRequest;
    fake.received.push(body);
    fake.authorizations.push(request.headers.authorization);
    const fail = (status: number) => {
      if (response.writableEnded) return;
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `scripted ${status}` } }));
    };
    if (fake.script.hang) {
      await new Promise<void>((resolve) => {
        const answer = () => resolve();
        hanging.add(answer);
        request.socket.once("close", () => {
          hanging.delete(answer);
          resolve();
        });
      });
      fail(503);
      return;
    }
    const status = fake.script.fail.shift();
    if (status) return fail(status);
    if (fake.script.delayMs) await new Promise((resolve) => setTimeout(resolve, fake.script.delayMs));
    const pieces = fake.script.reply(body);
    const usage = { ...fakeUsage, total_tokens: fakeUsage.prompt_tokens + fakeUsage.completion_tokens };
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
      if (fake.script.pieceDelayMs)
        await new Promise((resolve) => setTimeout(resolve, fake.script.pieceDelayMs));
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ...fake,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => {
      fake.release();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } as FakeOpenAi;
}

/** The environment that points the app at a fake. */
export const openAiEnv = (fake: FakeOpenAi) => ({
  AI_PROVIDER: "openai",
  OPENAI_BASE_URL: fake.baseUrl,
  OPENAI_API_KEY: "sk-fake",
  OPENAI_MODEL: "fake-model",
});
