import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { combinedRate, type LoadResult, streams } from "./load";

const run = (requests: number, requestsPerSecond: number): LoadResult => ({
  requests,
  errors: 0,
  requestsPerSecond,
  p50Ms: 1,
  p95Ms: 2,
  p99Ms: 3,
});

describe("combinedRate (the baseline measured around a scenario)", () => {
  it("weighs each run by its own duration, not each rate alike", () => {
    // 2 s at 500 req/s and 1 s at 3000 req/s: 4000 requests in 3 s, where the mean of the rates is 1750.
    expect(combinedRate([run(1000, 500), run(3000, 3000)])).toBeCloseTo(4000 / 3, 6);
  });

  it("refuses a baseline that served nothing rather than divide by it", () => {
    expect(() => combinedRate([run(0, 0), run(0, 0)])).toThrow("the baseline served no request");
  });
});

describe("streams (the event-stream client)", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** A real HTTP server answering each POST with `answer`, after reading its body. */
  async function serve(answer: (body: string, response: ServerResponse, request: IncomingMessage) => void) {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => answer(body, response, request));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/conversations/c/messages?x=1`;
  }

  const sse = (response: ServerResponse) =>
    response.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8" });

  it("times each stream from its own request to its done event, sending its body and headers", async () => {
    const seen: string[] = [];
    const url = await serve(async (body, response, request) => {
      seen.push(`${request.method} ${request.url} ${request.headers.authorization} ${body}`);
      sse(response);
      // Events in separate writes (chunks) and turns, the last one 150 ms after the request.
      for (const word of ["Reset ", "it ", "here."]) {
        response.write(`event: token\ndata: ${JSON.stringify({ text: word })}\n\n`);
        await sleep(50);
      }
      response.end(`event: done\ndata: ${JSON.stringify({ id: "m", padding: "x".repeat(5000) })}\n\n`);
    });
    const requests = [1, 2, 3].map((n) => ({
      url,
      headers: { authorization: `Bearer t${n}` },
      body: `{"n":${n}}`,
    }));
    const result = await streams({ requests, openOverMs: 100, timeoutMs: 5_000 });

    expect(result).toMatchObject({ requests: 3, errors: 0 });
    expect(result.p50Ms).toBeGreaterThanOrEqual(140);
    expect(result.p99Ms).toBeLessThan(4_000);
    expect(seen.sort()).toEqual(
      [1, 2, 3].map((n) => `POST /api/conversations/c/messages?x=1 Bearer t${n} {"n":${n}}`),
    );
  });

  it("counts an answer that is not 200, a stream that ends in an error event, and one cut short", async () => {
    const url = await serve((body, response) => {
      if (body === "404") {
        response.writeHead(404, { "Content-Type": "application/json" });
        response.end('{"error":{"code":"not_found"}}');
      } else if (body === "error") {
        sse(response);
        response.end('event: token\ndata: {"text":"a"}\n\nevent: error\ndata: {"error":{}}\n\n');
      } else if (body === "cut") {
        sse(response);
        response.write('event: token\ndata: {"text":"a"}\n\n');
        setTimeout(() => response.socket?.destroy(), 20);
      } else {
        sse(response);
        response.end('event: done\ndata: {"id":"m"}\n\n');
      }
    });
    const request = (body: string) => ({ url, headers: {}, body });
    const result = await streams({
      requests: ["404", "error", "cut", "ok"].map(request),
      openOverMs: 40,
      timeoutMs: 5_000,
    });

    expect(result).toMatchObject({ requests: 4, errors: 3 });
    expect(result.firstFailure).toMatch(/^404: [\s\S]*not_found/);
  });

  it("gives up on a stream that does not end within the timeout", async () => {
    const url = await serve((_body, response) => {
      sse(response);
      response.write('event: token\ndata: {"text":"a"}\n\n');
    });
    const result = await streams({
      requests: [{ url, headers: {}, body: "{}" }],
      openOverMs: 0,
      timeoutMs: 300,
    });

    expect(result).toMatchObject({ requests: 1, errors: 1, firstFailure: "stream timed out" });
    expect(result.p50Ms).toBeGreaterThanOrEqual(290);
  });
});
