/**
 * Slow and idle clients against the HTTP server's timeouts (HTTP_HEADERS_TIMEOUT_MS,
 * HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS; short values here, the defaults in the last
 * test): headers trickled (slowloris) are cut by the headers timeout, a body trickled by the request
 * timeout, an idle keep-alive socket is closed by the keep-alive timeout and not before, a streamed
 * reply may outlast the request timeout, and 2,000 idle keep-alive sockets do not starve real clients.
 */
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  createChatbot,
  createConversation,
  postMessageStream,
  readEvents,
  registerTenant,
  startTestApp,
  type TestApp,
} from "../../tests/support/app/harness";

const http = { keepAliveMs: 3_000, headersMs: 1_000, requestMs: 2_000, checkIntervalMs: 250 };

/** A raw connection to `url`'s port: what it received, and when the server closed it. */
async function rawSocket(url: string) {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const state = { received: "", closedAt: undefined as number | undefined };
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (state.received += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      state.closedAt = performance.now();
      resolve(state.closedAt);
    }),
  );
  return { socket, state, closed };
}

/** Writes `pieces` one every `everyMs` until the socket closes or they run out. */
async function trickle(socket: Socket, pieces: string[], everyMs: number): Promise<void> {
  for (const piece of pieces) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(piece);
    await sleep(everyMs);
  }
}

describe("slow clients (short timeouts)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp("slowclients", (config) => ({
      ...config,
      http,
      ai: { ...config.ai, simulatedLatencyMs: 2_500 },
    }));
  });
  afterAll(() => app?.close());

  it("cuts a client trickling its headers (slowloris) at the headers timeout with a 408", async () => {
    const { socket, state, closed } = await rawSocket(app.url);
    const started = performance.now();
    void trickle(
      socket,
      ["GET /healthz HTTP/1.1\r\nHost: x\r\n", ...Array.from({ length: 60 }, (_, i) => `X-Slow-${i}: y\r\n`)],
      100,
    );
    const elapsed = (await closed) - started;
    expect(elapsed).toBeGreaterThanOrEqual(http.headersMs - 50);
    expect(elapsed).toBeLessThan(http.headersMs + http.checkIntervalMs + 1_500);
    expect(state.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("cuts a client trickling its body at the request timeout", async () => {
    const { socket, state, closed } = await rawSocket(app.url);
    const started = performance.now();
    void trickle(
      socket,
      [
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        ...Array.from({ length: 60 }, () => " "),
      ],
      100,
    );
    const elapsed = (await closed) - started;
    expect(elapsed).toBeGreaterThanOrEqual(http.requestMs - 50);
    expect(elapsed).toBeLessThan(http.requestMs + http.checkIntervalMs + 1_500);
    expect(state.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes an idle keep-alive socket at the keep-alive timeout, not at the headers timeout", async () => {
    const { socket, state, closed } = await rawSocket(app.url);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const deadline = Date.now() + 5_000;
    while (!state.received.includes('{"status":"ok"}') && Date.now() < deadline) await sleep(10);
    expect(state.received).toMatch(/^HTTP\/1\.1 200 /);
    const answered = performance.now();
    const idle = (await closed) - answered;
    expect(idle).toBeGreaterThanOrEqual(http.keepAliveMs - 100);
    expect(idle).toBeLessThan(http.keepAliveMs + 1_500);
  });

  it("lets a streamed reply outlast the request timeout (it bounds receiving, not answering)", async () => {
    const tenant = await registerTenant(app.url);
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    const started = performance.now();
    const response = await postMessageStream(
      app.url,
      tenant.token,
      conversation.id,
      "What are your opening hours?",
    );
    const events = await readEvents(response);
    expect(performance.now() - started).toBeGreaterThan(http.requestMs);
    expect(events.at(-1)?.event).toBe("done");
  });
});

describe("many idle clients (default timeouts)", () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp("idleclients");
  });
  afterAll(() => app?.close());

  it("2,000 idle keep-alive sockets do not starve real requests", async () => {
    expect(app.config.http.keepAliveMs).toBeGreaterThan(120_000);
    const tenant = await registerTenant(app.url);
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    const idle: Socket[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        const opened = await Promise.all(
          Array.from({ length: 200 }, async () => {
            const { socket, state } = await rawSocket(app.url);
            socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            const deadline = Date.now() + 10_000;
            while (!state.received.includes('{"status":"ok"}') && Date.now() < deadline) await sleep(20);
            return socket;
          }),
        );
        idle.push(...opened);
      }
      expect(idle.filter((socket) => !socket.destroyed)).toHaveLength(2_000);

      const latencies: number[] = [];
      const statuses: number[] = [];
      await Promise.all(
        [0, 1, 2, 3].map(async (worker) => {
          for (let index = 0; index < 25; index++) {
            const started = performance.now();
            const response =
              index % 2 === 0
                ? await api(app.url, "POST", `/api/conversations/${conversation.id}/messages`, {
                    token: tenant.token,
                    body: { content: `worker ${worker} message ${index}` },
                  })
                : await api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, {
                    token: tenant.token,
                  });
            latencies.push(performance.now() - started);
            statuses.push(response.status);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const p99 = latencies[Math.floor(latencies.length * 0.99) - 1]!;
      console.log(
        `2,000 idle keep-alive sockets: ${statuses.length} real requests, ${statuses.filter((s) => s >= 400).length} failed, p50 ${Math.round(latencies[latencies.length / 2]!)} ms, p99 ${Math.round(p99)} ms, slowest ${Math.round(latencies.at(-1)!)} ms`,
      );
      expect(statuses.filter((status) => status >= 400)).toEqual([]);
      // Generous for a loaded machine (1.5 s measured at a load average of 29).
      expect(latencies.at(-1)).toBeLessThan(3_000);
      // Still open: the server kept them (no starvation by refusing or cutting idle clients either).
      expect(idle.filter((socket) => !socket.destroyed)).toHaveLength(2_000);
    } finally {
      for (const socket of idle) socket.destroy();
    }
  });
});
