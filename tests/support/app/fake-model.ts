/**
 * A stand-in for an OpenAI-compatible chat-completions server (the real one is not reachable from
 * here): it answers with the knowledge entry whose question shares most words with the user's
 * message, streamed word by word with a pause between pieces so a client can watch the reply grow,
 * and fails the next `failNext` requests with 500 when told to.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

interface ChatRequest {
  stream?: boolean;
  messages: Array<{ role: string; content: string }>;
}

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);

export function answerFromKnowledge(request: ChatRequest): string {
  const system = request.messages.find((message) => message.role === "system")?.content ?? "";
  const question = request.messages.at(-1)?.content ?? "";
  const asked = words(question);
  let best = { score: 0, answer: `I have nothing on “${question}” yet.` };
  for (const [, entryQuestion, answer] of system.matchAll(/^Q: (.*)\nA: (.*)$/gm)) {
    const score = [...words(entryQuestion!)].filter((word) => asked.has(word)).length;
    if (score > best.score) best = { score, answer: answer! };
  }
  return best.answer;
}

export interface FakeModel {
  baseUrl: string;
  /** The next this many requests answer 500. */
  failNext: number;
  pieceDelayMs: number;
  close(): Promise<void>;
}

export async function startFakeModel(): Promise<FakeModel> {
  const model = { failNext: 0, pieceDelayMs: 120 };
  const server: Server = createServer(async (request, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    if (model.failNext > 0) {
      model.failNext--;
      response.writeHead(500, { "content-type": "application/json" }).end('{"error":{"message":"down"}}');
      return;
    }
    const body = JSON.parse(text) as ChatRequest;
    const answer = answerFromKnowledge(body);
    const usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };
    if (!body.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: answer } }], usage }),
      );
      return;
    }
    response.writeHead(200, { "content-type": "text/event-stream" });
    for (const piece of answer.match(/\S+\s*/g) ?? [answer]) {
      response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
      await new Promise((resolve) => setTimeout(resolve, model.pieceDelayMs));
    }
    response.write(
      `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`,
    );
    response.write(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
    response.end("data: [DONE]\n\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(model, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
