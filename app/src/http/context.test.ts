/**
 * Client address and request context, twice: on a real Express app listening on loopback (the peer
 * address is chosen with the request's local address: 127.0.0.1 is a configured proxy, 127.0.0.2 is
 * not), and server-free, on Express request objects built without a socket, where the header values,
 * a closed socket and the clock are set by hand.
 */
import { EventEmitter } from "node:events";
import { request as httpRequest } from "node:http";
import { type AddressInfo, connect } from "node:net";
import express, { type Request, type Response } from "express";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { metrics as metricCatalogue } from "../../../contracts/metrics";
import { redactedPaths } from "../logger";
import { createMetrics } from "../telemetry/metrics";
import { clientIp, requestContext, requestLoggers, routeLabel } from "./context";

const servers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

async function serve(app: express.Express): Promise<number> {
  const server = app.listen(0, "127.0.0.1");
  servers.push(server);
  await new Promise((resolve) => server.once("listening", resolve));
  return (server.address() as AddressInfo).port;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  from = "127.0.0.1",
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers, localAddress: from }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function clientIpApp(trustedProxies: string[]): Promise<number> {
  const app = express();
  app.set("trust proxy", trustedProxies);
  app.get("/ip", (request, response) => {
    response.send(clientIp(request));
  });
  return serve(app);
}

describe("clientIp", () => {
  it("believes CF-Connecting-IP from a configured proxy", async () => {
    const port = await clientIpApp(["127.0.0.1"]);
    expect((await get(port, "/ip", { "cf-connecting-ip": "203.0.113.7" })).body).toBe("203.0.113.7");
  });

  it("ignores CF-Connecting-IP and X-Forwarded-For from a peer that is not a configured proxy", async () => {
    const port = await clientIpApp(["127.0.0.1"]);
    const headers = { "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "198.51.100.9" };
    expect((await get(port, "/ip", headers, "127.0.0.2")).body).toBe("127.0.0.2");
  });

  it("ignores CF-Connecting-IP when a forwarded hop is not a configured proxy, naming that hop", async () => {
    const port = await clientIpApp(["127.0.0.1", "10.0.0.0/8"]);
    const spoofed = { "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "10.1.2.3, 198.51.100.9" };
    expect((await get(port, "/ip", spoofed)).body).toBe("198.51.100.9");
    // Every forwarded hop a configured proxy: the request came through the chain, so CF names the client.
    const chained = { "cf-connecting-ip": "203.0.113.7", "x-forwarded-for": "10.1.2.3, 10.4.5.6" };
    expect((await get(port, "/ip", chained)).body).toBe("203.0.113.7");
  });

  it("ignores a CF-Connecting-IP that is not an address", async () => {
    const port = await clientIpApp(["127.0.0.1"]);
    const headers = { "cf-connecting-ip": "not-an-address", "x-forwarded-for": "198.51.100.9" };
    expect((await get(port, "/ip", headers)).body).toBe("198.51.100.9");
    expect((await get(port, "/ip", { "cf-connecting-ip": "" })).body).toBe("127.0.0.1");
  });
});

describe("requestContext", () => {
  async function contextApp() {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics({ version: "t", commit: "t" });
    const app = express();
    app.use(requestContext(log, metrics));
    app.get("/api/items/:id", (request, response) => {
      response.json({ id: request.id });
    });
    app.get("/down", (_request, response) => {
      response.locals.expectedFailure = true;
      response.status(503).end();
    });
    app.get("/boom", (_request, response) => {
      response.status(500).end();
    });
    app.use((_request, response) => {
      response.locals.routeLabel = "static";
      response.status(404).end();
    });
    return { port: await serve(app), lines, metrics };
  }

  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

  it("keeps a sane X-Request-Id and replaces any other with a UUID", async () => {
    const { port } = await contextApp();
    const kept = await get(port, "/api/items/1", { "x-request-id": "abc-123.x:y_z" });
    expect(kept.headers["x-request-id"]).toBe("abc-123.x:y_z");
    expect(JSON.parse(kept.body)).toEqual({ id: "abc-123.x:y_z" });
    for (const bad of ["has space", "x".repeat(129), "semi;colon"]) {
      const replaced = await get(port, "/api/items/1", { "x-request-id": bad });
      expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
    }
    expect(
      (await get(port, "/api/items/1", { "x-request-id": "x".repeat(128) })).headers["x-request-id"],
    ).toBe("x".repeat(128));
    expect((await get(port, "/api/items/1")).headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("counts and logs each request under its route template, never the raw path", async () => {
    const { port, lines, metrics } = await contextApp();
    await get(port, "/api/items/42", { "x-request-id": "req-1" });
    await get(port, "/nowhere");
    await settle();
    const counted = await metrics.registry.getSingleMetricAsString("parley_http_requests_total");
    expect(counted).toContain('method="GET",route="/api/items/:id",status_code="200"} 1');
    expect(counted).toContain('method="GET",route="static",status_code="404"} 1');
    const durations = await metrics.registry.getSingleMetricAsString("parley_http_request_duration_seconds");
    expect(durations).toMatch(/_count\{method="GET",route="\/api\/items\/:id",status_code="200"\} 1/);
    const line = lines.find((entry) => entry.req_id === "req-1");
    expect(line).toMatchObject({
      msg: "request",
      level: 30,
      method: "GET",
      route: "/api/items/:id",
      status: 200,
      completed: true,
    });
    expect(line?.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it("writes the request line byte for byte as the request's child logger would, secrets still redacted", async () => {
    const raw: string[] = [];
    const log = pino(
      {
        base: { service: "parley" },
        timestamp: false,
        redact: { paths: redactedPaths, censor: "[redacted]" },
      },
      { write: (line: string) => raw.push(line) },
    );
    const app = express();
    requestLoggers(app, log);
    app.use(requestContext(log, createMetrics({ version: "t", commit: "t" })));
    app.get("/api/items/:id", (request, response) => {
      request.log.info({ body: { password: "hunter2" } }, "handled");
      response.json({});
    });
    const port = await serve(app);
    await get(port, "/api/items/7", { "x-request-id": "same-1" });
    await settle();
    const [handled, line] = raw;
    expect(handled).toContain('"req_id":"same-1"');
    expect(handled).not.toContain("hunter2");
    const fields = JSON.parse(line!);
    const expected: string[] = [];
    const reference = pino(
      {
        base: { service: "parley" },
        timestamp: false,
        redact: { paths: redactedPaths, censor: "[redacted]" },
      },
      { write: (text: string) => expected.push(text) },
    );
    reference.child({ req_id: "same-1" }).info(
      {
        method: "GET",
        route: "/api/items/:id",
        status: 200,
        duration_ms: fields.duration_ms,
        user_id: undefined,
        completed: true,
      },
      "request",
    );
    expect(line).toBe(expected[0]);
  });

  it("counts a quiet route's successful answers without logging them, and logs its failures", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics({ version: "t", commit: "t" });
    const app = express();
    app.use(requestContext(log, metrics, { quietRoutes: ["/probe"] }));
    let ready = true;
    app.get("/probe", (_request, response) => {
      response.locals.expectedFailure = true;
      response.status(ready ? 200 : 503).end();
    });
    app.get("/api/items/:id", (_request, response) => {
      response.end();
    });
    const port = await serve(app);
    await get(port, "/probe");
    await get(port, "/api/items/1");
    ready = false;
    await get(port, "/probe");
    await settle();
    expect(lines.map(({ route, status }) => `${route} ${status}`)).toEqual([
      "/api/items/:id 200",
      "/probe 503",
    ]);
    const counted = await metrics.registry.getSingleMetricAsString("parley_http_requests_total");
    expect(counted).toContain('route="/probe",status_code="200"} 1');
    expect(counted).toContain('route="/probe",status_code="503"} 1');
  });

  it("counts a request whose client left before any answer as 499, and one that left a started answer under its status", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics({ version: "t", commit: "t" });
    const app = express();
    app.use(requestContext(log, metrics));
    // The slow answer is held until its client is gone; the stream's client leaves after its first event.
    let answerSlow: (() => void) | undefined;
    app.get("/slow", (_request, response) => {
      answerSlow = () => response.status(201).json({ late: true });
    });
    app.get("/stream", (_request, response) => {
      response.writeHead(200, { "Content-Type": "text/event-stream" });
      response.write("event: token\ndata: one\n\n");
    });
    const port = await serve(app);
    const patience = { timeout: 5_000 };
    const leave = async (path: string, when: (received: string) => boolean) => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => undefined);
      let received = "";
      socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await vi.waitFor(() => expect(when(received)).toBe(true), patience);
      socket.destroy();
    };
    await leave("/slow", () => answerSlow !== undefined);
    await vi.waitFor(() => expect(lines).toHaveLength(1), patience);
    answerSlow!();
    await leave("/stream", (received) => received.includes("data: one"));
    await vi.waitFor(() => expect(lines).toHaveLength(2), patience);
    await settle();
    const counts = await metrics.registry.getSingleMetricAsString(metricCatalogue.httpRequests.name);
    expect(counts).toContain('{method="GET",route="/slow",status_code="499"} 1');
    expect(counts).toContain('{method="GET",route="/stream",status_code="200"} 1');
    expect(counts).not.toContain('status_code="201"');
    expect(lines.map(({ level, status, completed }) => ({ level, status, completed }))).toEqual([
      { level: 30, status: 499, completed: false },
      { level: 30, status: 200, completed: false },
    ]);
  });

  it("logs an unexpected 5xx as an error, an expected one (a dependency down) at info", async () => {
    const { port, lines } = await contextApp();
    await get(port, "/boom", { "x-request-id": "boom" });
    await get(port, "/down", { "x-request-id": "down" });
    await get(port, "/api/items/1", { "x-request-id": "fine" });
    await settle();
    const byId = (id: string) => lines.find((entry) => entry.req_id === id);
    expect(byId("boom")).toMatchObject({ level: 50, msg: "request failed", status: 500 });
    expect(byId("down")).toMatchObject({ level: 30, msg: "request", status: 503 });
    expect(byId("fine")).toMatchObject({ level: 30, msg: "request" });
  });
});

/**
 * An Express request with no socket behind it: Express's own `get`, `ip` and compiled `trust proxy`
 * predicate, on header values exactly as given (Node's HTTP parser would strip their surrounding
 * whitespace) and a peer address that may be gone (a socket already closed has none).
 */
function expressRequest(
  peer: string | undefined,
  headers: Record<string, string> = {},
  trustedProxies = ["127.0.0.1"],
): Request {
  const app = express();
  app.set("trust proxy", trustedProxies);
  return Object.assign(Object.create(app.request) as Request, {
    headers,
    socket: { remoteAddress: peer },
    method: "GET",
    baseUrl: "",
  });
}

describe("clientIp, server-free", () => {
  it("falls back to Express's address when no CF-Connecting-IP is sent", () => {
    expect(clientIp(expressRequest("127.0.0.1"))).toBe("127.0.0.1");
    expect(clientIp(expressRequest("127.0.0.1", { "x-forwarded-for": "198.51.100.9" }))).toBe("198.51.100.9");
  });

  it("trims the CF-Connecting-IP value it believes", () => {
    expect(clientIp(expressRequest("127.0.0.1", { "cf-connecting-ip": " 203.0.113.8 " }))).toBe(
      "203.0.113.8",
    );
  });

  it("ignores a CF-Connecting-IP that is not an address even when every hop is a configured proxy", () => {
    expect(clientIp(expressRequest("127.0.0.1", { "cf-connecting-ip": "not-an-address" }))).toBe("127.0.0.1");
    expect(
      clientIp(
        expressRequest("127.0.0.1", { "cf-connecting-ip": "unknown", "x-forwarded-for": "10.1.2.3" }, [
          "127.0.0.1",
          "10.0.0.0/8",
        ]),
      ),
    ).toBe("10.1.2.3");
  });

  it("asks the trust predicate about each hop with its distance from the socket, as req.ip does", () => {
    // The app configures a list of ranges, whose predicate ignores the hop number; a function-valued
    // `trust proxy` (Express passes it the address and the hop) is where the order shows.
    const hops = ["127.0.0.1", "10.1.2.3", "10.4.5.6"];
    const request = expressRequest("127.0.0.1", {
      "cf-connecting-ip": "203.0.113.7",
      "x-forwarded-for": "10.4.5.6, 10.1.2.3",
    });
    request.app.set("trust proxy", (address: string, hop: number) => hops[hop] === address);
    expect(request.ip).toBe("10.4.5.6");
    expect(clientIp(request)).toBe("203.0.113.7");
  });

  it("names no client when the socket has closed and no proxy named one", () => {
    expect(clientIp(expressRequest(undefined))).toBe("");
    expect(clientIp(expressRequest(undefined, { "cf-connecting-ip": "203.0.113.7" }))).toBe("");
  });
});

describe("routeLabel, server-free", () => {
  it("labels a request no route matched and no handler labelled as unmatched", () => {
    expect(routeLabel(expressRequest("127.0.0.1"), { locals: {} } as Response)).toBe("unmatched");
  });
});

describe("requestLoggers", () => {
  it("makes a request's logger only when a handler first logs, one per request, bound to its id", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const child = vi.spyOn(log, "child");
    const app = express();
    requestLoggers(app, log);
    app.use(requestContext(log, createMetrics({ version: "t", commit: "t" })));
    app.get("/quiet", (_request, response) => {
      response.end();
    });
    app.get("/chatty", (request, response) => {
      const first = request.log;
      first.info("first");
      request.log.info("second");
      response.json({ same: first === request.log });
    });
    const port = await serve(app);
    const made = child.mock.calls.length;
    await get(port, "/quiet", { "x-request-id": "quiet-1" });
    expect(child.mock.calls.length).toBe(made);
    expect(JSON.parse((await get(port, "/chatty", { "x-request-id": "chatty-1" })).body)).toEqual({
      same: true,
    });
    expect(child.mock.calls.slice(made)).toEqual([[{ req_id: "chatty-1" }]]);
    expect(lines.filter((line) => line.req_id === "chatty-1").map((line) => line.msg)).toEqual(
      expect.arrayContaining(["first", "second"]),
    );
  });
});

describe("requestContext, server-free", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The parts of a response the middleware touches; `close` is emitted by the test. */
  class FakeResponse extends EventEmitter {
    statusCode = 200;
    locals: Record<string, unknown> = {};
    headersSent = true;
    writableFinished = true;
    readonly headers: Record<string, string> = {};
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
      return this;
    }
  }

  it("times a request from its start to its close: seconds in the histogram, milliseconds in the log", async () => {
    // A fake monotonic clock (process.hrtime.bigint), already 1 s past its origin when the request starts.
    vi.useFakeTimers({ toFake: ["hrtime"] });
    vi.advanceTimersByTime(1_000);
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const metrics = createMetrics({ version: "t", commit: "t" });
    const request = expressRequest("127.0.0.1", { "x-request-id": "timed" });
    const response = new FakeResponse();
    const next = vi.fn();
    requestContext(log, metrics)(request, response as unknown as Response, next);
    expect(next).toHaveBeenCalledOnce();
    expect(response.headers["x-request-id"]).toBe("timed");
    vi.advanceTimersByTime(250);
    response.emit("close");
    expect(lines).toEqual([
      expect.objectContaining({ req_id: "timed", route: "unmatched", status: 200, duration_ms: 250 }),
    ]);
    const durations = await metrics.registry.getSingleMetricAsString("parley_http_request_duration_seconds");
    expect(durations).toContain('_sum{method="GET",route="unmatched",status_code="200"} 0.25');
    expect(durations).toContain('_bucket{le="0.2",method="GET",route="unmatched",status_code="200"} 0');
    expect(durations).toContain('_bucket{le="0.3",method="GET",route="unmatched",status_code="200"} 1');
  });
});
