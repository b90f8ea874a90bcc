import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { answerClientError, clientErrorResponse } from "./client-errors";

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function listen(options: { headersTimeout?: number; requestTimeout?: number } = {}): Promise<number> {
  const server = createServer({ ...options, connectionsCheckingInterval: 50 }, (_request, response) =>
    response.end("ok"),
  );
  server.on("clientError", answerClientError);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends raw bytes and returns everything the server wrote until it closed the connection. */
function exchange(port: number, chunks: string[], gapMs = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (data) => {
      received += data;
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await new Promise((wait) => setTimeout(wait, gapMs));
      }
    });
  });
}

const body = (raw: string) => JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));

describe("requests the HTTP parser refuses get the API's JSON error", () => {
  it("a request line over the header limit: 431 headers_too_large, and the connection closed", async () => {
    const port = await listen();
    const raw = await exchange(port, [
      `GET /api/chatbots/${"%20".repeat(6_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ]);
    expect(raw).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(raw).toContain("\r\nContent-Type: application/json; charset=utf-8\r\n");
    expect(raw).toContain("\r\nConnection: close\r\n");
    expect(body(raw)).toEqual({
      error: { code: "headers_too_large", message: "the request line and headers exceed 16 KB" },
    });
  });

  it("bytes that are not HTTP: 400 malformed_request", async () => {
    const raw = await exchange(await listen(), ["GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]);
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(body(raw)).toEqual({
      error: { code: "malformed_request", message: "the request is not valid HTTP" },
    });
  });

  it("headers trickled past the headers timeout: 408 request_timeout", async () => {
    const port = await listen({ headersTimeout: 300, requestTimeout: 300 });
    const trickle = ["GET / HTTP/1.1\r\n", ...Array.from({ length: 40 }, (_, n) => `X-Slow-${n}: 1\r\n`)];
    const raw = await exchange(port, trickle, 50);
    expect(raw).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(body(raw).error.code).toBe("request_timeout");
  });

  it("states a Content-Length that is the body's length in bytes", () => {
    const raw = clientErrorResponse({ code: "HPE_HEADER_OVERFLOW" });
    const length = Number(/\r\nContent-Length: (\d+)\r\n/.exec(raw)?.[1]);
    expect(length).toBe(Buffer.byteLength(raw.slice(raw.indexOf("\r\n\r\n") + 4)));
  });

  it("writes nothing into a connection that already carries a response, and drops a reset one", () => {
    const calls: string[] = [];
    const socket = {
      writable: true,
      bytesWritten: 0,
      end: () => calls.push("end"),
      destroy: () => calls.push("destroy"),
    };
    answerClientError(Object.assign(new Error("reset"), { code: "ECONNRESET" }), socket as never);
    answerClientError(Object.assign(new Error("x"), { code: "HPE_INVALID_METHOD" }), {
      ...socket,
      _httpMessage: { _headerSent: true },
    } as never);
    expect(calls).toEqual(["destroy", "destroy"]);
  });

  it("answers a refused request on a keep-alive connection that already carried answers", async () => {
    const port = await listen();
    const raw = await exchange(
      port,
      [
        "GET /first HTTP/1.1\r\nHost: x\r\n\r\n",
        `GET /api/chatbots/${"%20".repeat(6_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      ],
      50,
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const second = raw.slice(raw.indexOf("HTTP/1.1 431"));
    expect(second).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(body(second).error.code).toBe("headers_too_large");
  });
});
