/**
 * A local fake of an OpenAI-compatible chat-completions server: answers "You said: <last message>"
 * with fixed usage (11 prompt + 7 completion tokens), streaming or not, after an optional delay or
 * with a scripted error status, and records every request it receives.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeChatRequest {
  model: string;
  stream: boolean;
  max_completion_tokens?: number;
  messages: Array<{ role: string; content: string }>;
}

export const fakeUsage = { prompt_tokens: 11, completion_tokens: 7 };

export interface FakeOpenAi {
  baseUrl: string;
  received: FakeChatRequest[];
  /** Milliseconds before each answer. */
  delayMs: number;
  /** When set, every request is answered with this HTTP status and an error body. */
  failWith?: number;
  close(): Promise<void>;
}

const readBody = async (request: IncomingMessage) => {
  let text = "";
  for await (const chunk of request) text += chunk;
  return JSON.parse(text) as FakeChatRequest;
};

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const fake: Omit<FakeOpenAi, "baseUrl" | "close"> = { received: [], delayMs: 0, failWith: undefined };
  const server = createServer(async (request, response) => {
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404).end();
      return;
    }
    const body = await readBody(request);
    fake.received.push(body);
    if (fake.failWith) {
      response.writeHead(fake.failWith, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: { message: `scripted ${fake.failWith}` } }));
      return;
    }
    if (fake.delayMs) await new Promise((resolve) => setTimeout(resolve, fake.delayMs));
    const text = `You said: ${body.messages.at(-1)!.content}`;
    const usage = { ...fakeUsage, total_tokens: fakeUsage.prompt_tokens + fakeUsage.completion_tokens };
    if (!body.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: text } }],
          usage,
        }),
      );
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`);
    response.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    response.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
