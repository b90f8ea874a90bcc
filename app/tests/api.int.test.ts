/** Every endpoint's success and error paths, tenant isolation, idempotency, SSE, metrics and logs. */
import { Writable } from "node:stream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metrics as catalogue } from "../../contracts/metrics";
import {
  api,
  createChatbot,
  createConversation,
  jwtSecret,
  postMessageStream,
  readEvents,
  registerTenant,
  type Tenant,
  testConfig,
} from "../../tests/support/app/harness";
import { signToken } from "../src/auth/jwt";
import { startParley } from "../src/main";

let url: string;
let close: () => Promise<void>;
let primary: pg.Pool;
const logLines: string[] = [];
let alice: Tenant;
let bob: Tenant;

beforeAll(async () => {
  const { config, database } = await testConfig("api");
  config.analyticsRefreshIntervalMs = 300;
  config.cacheTtlSeconds.analytics = 1;
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const app = await startParley(config, { log: pino({ level: "debug" }, sink) });
  ({ url, close } = app);
  primary = new pg.Pool({ connectionString: database.primaryUrl, max: 2 });
  [alice, bob] = await Promise.all([registerTenant(url), registerTenant(url)]);
});

afterAll(async () => {
  await close?.();
  await primary?.end();
});

describe("operations", () => {
  it("answers /healthz and /readyz", async () => {
    expect(await api(url, "GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await api(url, "GET", "/readyz")).toMatchObject({
      status: 200,
      body: { status: "ready", primary: true, replica_in_use: true },
    });
  });

  it("serves the chat page at / with security headers", async () => {
    const page = await api(url, "GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.body).toContain("<title>Parley</title>");
    expect(page.headers.get("x-content-type-options")).toBe("nosniff");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
  });

  it("answers every /api request with the OWASP REST Security Cheat Sheet's API headers, not a page's", async () => {
    const chatbot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, chatbot.id);
    const stream = await postMessageStream(url, alice.token, conversation.id, "hello");
    await stream.text();
    const answers = [
      await api(url, "GET", `/api/chatbots/${chatbot.id}`, { token: alice.token }),
      await api(url, "GET", "/api/chatbots"),
      await api(url, "GET", "/api/nope", { token: alice.token }),
      await api(url, "POST", "/api/chatbots", { token: alice.token, body: "not an object" }),
      { status: stream.status, headers: stream.headers },
    ];
    expect(answers.map(({ status }) => status)).toEqual([200, 401, 404, 400, 200]);
    expect(stream.headers.get("cache-control")).toBe("no-store, no-transform");
    for (const { headers } of answers) {
      expect(headers.get("cache-control") ?? "(none)").toMatch(/^no-store\b/);
      expect(Object.fromEntries(headers)).toMatchObject({
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        "cross-origin-resource-policy": "same-origin",
        "referrer-policy": "no-referrer",
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
      });
      for (const pageOnly of ["cross-origin-opener-policy", "origin-agent-cluster", "x-dns-prefetch-control"])
        expect(headers.has(pageOnly), pageOnly).toBe(false);
    }
    // The page keeps helmet's document headers next to its own policy.
    const page = await api(url, "GET", "/");
    expect(page.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(page.headers.get("cross-origin-opener-policy")).toBe("same-origin");
  });

  it("answers unknown paths with a JSON 404", async () => {
    expect(await api(url, "GET", "/nope")).toMatchObject({
      status: 404,
      body: { error: { code: "not_found" } },
    });
    expect(await api(url, "GET", "/api/nope", { token: alice.token })).toMatchObject({ status: 404 });
  });

  it("echoes a sane X-Request-Id and makes one otherwise", async () => {
    const given = await api(url, "GET", "/healthz", { headers: { "x-request-id": "abc-123" } });
    expect(given.headers.get("x-request-id")).toBe("abc-123");
    const made = await api(url, "GET", "/healthz", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("auth", () => {
  it("registers a user in a new organization", async () => {
    const response = await api(url, "POST", "/api/auth/register", {
      body: { email: "Carol@Example.com", password: "long enough pw", organization: "Carol Co" },
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      user: { id: expect.any(String), email: "Carol@Example.com", organization_id: expect.any(String) },
      access_token: expect.any(String),
    });
    const again = await api(url, "POST", "/api/auth/register", {
      body: { email: "carol@example.com", password: "another password" },
    });
    expect(again).toMatchObject({ status: 409, body: { error: { code: "email_taken" } } });
  });

  it("rejects bad registrations naming the field", async () => {
    const badEmail = await api(url, "POST", "/api/auth/register", {
      body: { email: "nope", password: "long enough" },
    });
    expect(badEmail.status).toBe(400);
    expect(badEmail.body.error).toMatchObject({
      code: "validation_failed",
      message: expect.stringContaining("body.email"),
    });
    const shortPassword = await api(url, "POST", "/api/auth/register", {
      body: { email: "d@example.com", password: "short" },
    });
    expect(shortPassword.body.error.message).toContain("body.password");
    const noBody = await api(url, "POST", "/api/auth/register");
    expect(noBody).toMatchObject({ status: 400, body: { error: { code: "validation_failed" } } });
  });

  it("rejects malformed JSON and oversized bodies", async () => {
    const malformed = await fetch(`${url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: "invalid_json" } });
    const huge = await api(url, "POST", "/api/auth/register", {
      body: { email: "e@example.com", password: "x".repeat(100_000) },
    });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: "payload_too_large" } } });
  });

  it("refuses a request without a valid token before parsing its body", async () => {
    const malformed = await fetch(`${url}/api/chatbots`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(malformed.status).toBe(401);
    expect(await malformed.json()).toMatchObject({ error: { code: "unauthorized" } });
  });

  it("logs in with the right password only", async () => {
    const ok = await api(url, "POST", "/api/auth/login", {
      body: { email: alice.email, password: alice.password },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ access_token: expect.any(String), token_type: "Bearer", expires_in: 3600 });
    expect((await api(url, "GET", "/api/chatbots", { token: ok.body.access_token })).status).toBe(200);
    const wrong = await api(url, "POST", "/api/auth/login", {
      body: { email: alice.email, password: "wrong password" },
    });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: "invalid_credentials" } } });
    const unknown = await api(url, "POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "whatever" },
    });
    expect(unknown).toMatchObject({ status: 401, body: { error: { code: "invalid_credentials" } } });
    expect((await api(url, "POST", "/api/auth/login", { body: { email: alice.email } })).status).toBe(400);
  });

  it("rejects missing, tampered, unsigned and expired tokens", async () => {
    const missing = await api(url, "GET", "/api/chatbots");
    expect(missing).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    const [header, payload, signature] = alice.token.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, org: bob.organizationId })).toString(
      "base64url",
    );
    const tampered = await api(url, "GET", "/api/chatbots", {
      token: `${header}.${forgedPayload}.${signature}`,
    });
    expect(tampered).toMatchObject({ status: 401, body: { error: { code: "invalid_token" } } });
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
    expect((await api(url, "GET", "/api/chatbots", { token: `${none}.${payload}.` })).status).toBe(401);
    const expired = await signToken(
      { sub: alice.userId, org: alice.organizationId },
      jwtSecret,
      60,
      1_000_000,
    );
    const expiredResponse = await api(url, "GET", "/api/chatbots", { token: expired });
    expect(expiredResponse.body.error.message).toBe("token expired");
  });
});

describe("chatbots and conversations", () => {
  it("creates, reads and lists chatbots", async () => {
    const created = await api(url, "POST", "/api/chatbots", {
      token: alice.token,
      body: {
        name: "Support",
        system_prompt: "Be kind.",
        knowledge: [{ question: "Hi?", answer: "Hello!" }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(String),
      organization_id: alice.organizationId,
      name: "Support",
      system_prompt: "Be kind.",
      knowledge: [{ question: "Hi?", answer: "Hello!" }],
    });
    const read = await api(url, "GET", `/api/chatbots/${created.body.id}`, { token: alice.token });
    expect(read).toMatchObject({ status: 200, body: { id: created.body.id, name: "Support" } });
    const list = await api(url, "GET", "/api/chatbots", { token: alice.token });
    const listed = list.body.items.find((bot: { id: string }) => bot.id === created.body.id);
    // Lists carry a count, not the knowledge itself.
    expect(listed).toMatchObject({ name: "Support", knowledge_count: 1 });
    expect(listed).not.toHaveProperty("knowledge");
    expect(list.body).toHaveProperty("next_cursor");
  });

  it("answers JSON with its length in bytes, multi-byte text and bodies over 1,000 characters included, and HEAD without a body", async () => {
    const knowledge = Array.from({ length: 12 }, (_, n) => ({
      question: `Q ${n}: crème brûlée ✓?`,
      answer: "ça va — 😀 ".repeat(8),
    }));
    const created = await api(url, "POST", "/api/chatbots", {
      token: alice.token,
      body: { name: "Ünïcödé ✓", knowledge },
    });
    expect(created.status).toBe(201);
    for (const path of [`/api/chatbots/${created.body.id}`, "/api/chatbots?limit=100", "/healthz"]) {
      // Uncompressed, so the length is the body's (fetch asks for gzip otherwise; compression is tested below).
      const headers = { authorization: `Bearer ${alice.token}`, "accept-encoding": "identity" };
      const response = await fetch(`${url}${path}`, { headers });
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
      JSON.parse(bytes.toString("utf8"));
      if (path.includes(created.body.id)) {
        expect(bytes.length).toBeGreaterThan(bytes.toString("utf8").length);
        expect(bytes.toString("utf8").length).toBeGreaterThan(1000);
        expect(JSON.parse(bytes.toString("utf8"))).toMatchObject({
          name: "Ünïcödé ✓",
          knowledge: created.body.knowledge,
        });
      }
      const head = await fetch(`${url}${path}`, { method: "HEAD", headers });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-length")).toBe(String(bytes.length));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it("rejects invalid chatbots naming the field", async () => {
    const noName = await api(url, "POST", "/api/chatbots", { token: alice.token, body: {} });
    expect(noName.body.error.message).toContain("body.name");
    const badKnowledge = await api(url, "POST", "/api/chatbots", {
      token: alice.token,
      body: { name: "x", knowledge: [{ question: "q" }] },
    });
    expect(badKnowledge.status).toBe(400);
    expect(badKnowledge.body.error.message).toContain("body.knowledge.0.answer");
  });

  it("answers 404 for unknown or malformed chatbot ids", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid"]) {
      expect((await api(url, "GET", `/api/chatbots/${id}`, { token: alice.token })).status).toBe(404);
      expect(
        (await api(url, "POST", `/api/chatbots/${id}/conversations`, { token: alice.token, body: {} }))
          .status,
      ).toBe(404);
    }
  });

  it("creates conversations with or without a title and lists them newest first", async () => {
    const bot = await createChatbot(url, alice.token);
    const untitled = await api(url, "POST", `/api/chatbots/${bot.id}/conversations`, { token: alice.token });
    expect(untitled).toMatchObject({ status: 201, body: { chatbot_id: bot.id, title: null } });
    const titled = await createConversation(url, alice.token, bot.id, "Second");
    expect(titled).toMatchObject({
      chatbot_id: bot.id,
      title: "Second",
      created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
    });
    const list = await api(url, "GET", "/api/conversations?limit=2", { token: alice.token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([titled.id, untitled.body.id]);
    const badTitle = await api(url, "POST", `/api/chatbots/${bot.id}/conversations`, {
      token: alice.token,
      body: { title: 42 },
    });
    expect(badTitle.body.error.message).toContain("body.title");
  });

  it("validates page parameters", async () => {
    for (const query of ["limit=0", "limit=101", "limit=abc"]) {
      const response = await api(url, "GET", `/api/conversations?${query}`, { token: alice.token });
      expect(response.status).toBe(400);
      expect(response.body.error.message).toContain("query.limit");
    }
    const cursor = await api(url, "GET", "/api/chatbots?cursor=garbage", { token: alice.token });
    expect(cursor).toMatchObject({ status: 400, body: { error: { code: "invalid_cursor" } } });
  });
});

describe("messages", () => {
  it("posts a message and gets the knowledge-base answer", async () => {
    const bot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, bot.id);
    const posted = await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
      body: { content: "What are your opening hours?" },
    });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({
      user_message: { role: "user", content: "What are your opening hours?" },
      assistant_message: { role: "assistant", content: "We are open nine to five on weekdays." },
    });
    const page = await api(url, "GET", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
    });
    expect(page.status).toBe(200);
    expect(page.body).toEqual({
      items: [posted.body.assistant_message, posted.body.user_message],
      next_cursor: null,
    });
  });

  it("rejects empty content and unknown conversations", async () => {
    const bot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, bot.id);
    const empty = await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
      body: { content: "   " },
    });
    expect(empty.body.error.message).toContain("body.content");
    const unknown = "00000000-0000-4000-8000-000000000000";
    const post = await api(url, "POST", `/api/conversations/${unknown}/messages`, {
      token: alice.token,
      body: { content: "hi" },
    });
    expect(post.status).toBe(404);
    expect(
      (await api(url, "GET", `/api/conversations/${unknown}/messages`, { token: alice.token })).status,
    ).toBe(404);
    const badKey = await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
      body: { content: "hi" },
      headers: { "idempotency-key": "x".repeat(201) },
    });
    expect(badKey.body.error.message).toContain("header");
  });

  it("stores one exchange for retried and concurrent posts with the same Idempotency-Key", async () => {
    const bot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, bot.id);
    const post = (key: string) =>
      api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
        token: alice.token,
        body: { content: "How much does the team plan cost?" },
        headers: { "idempotency-key": key },
      });
    const first = await post("retry-1");
    const retry = await post("retry-1");
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const concurrent = await Promise.all([post("race-1"), post("race-1"), post("race-1")]);
    expect(new Set(concurrent.map((response) => response.body.user_message.id)).size).toBe(1);
    const stored = await primary.query("SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1", [
      conversation.id,
    ]);
    expect(stored.rows[0].n).toBe(4);
    const other = await createConversation(url, alice.token, bot.id);
    const reused = await api(url, "POST", `/api/conversations/${other.id}/messages`, {
      token: alice.token,
      body: { content: "hello" },
      headers: { "idempotency-key": "retry-1" },
    });
    expect(reused).toMatchObject({ status: 422, body: { error: { code: "idempotency_key_reused" } } });
  });

  it("streams the reply as SSE token events then one done event, uncompressed", async () => {
    const bot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, bot.id);
    const streamsAnswered = async () => {
      const metrics = String((await api(url, "GET", "/metrics")).body);
      const series =
        'parley_http_request_duration_seconds_count{method="POST",route="/api/conversations/:id/messages",status_code="200"} ';
      const line = metrics.split("\n").find((candidate) => candidate.startsWith(series));
      return line ? Number(line.slice(series.length)) : 0;
    };
    const before = await streamsAnswered();
    const response = await postMessageStream(
      url,
      alice.token,
      conversation.id,
      "How much does the team plan cost?",
      {
        headers: { "accept-encoding": "gzip" },
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("content-encoding")).toBeNull();
    const events = await readEvents(response);
    const tokens = events.filter((event) => event.event === "token");
    expect(tokens.length).toBeGreaterThan(1);
    expect(events.at(-1)!.event).toBe("done");
    expect(events.slice(0, -1).every((event) => event.event === "token")).toBe(true);
    const done = events.at(-1)!.data;
    expect(tokens.map((event) => event.data.text).join("")).toBe(done.assistant_message.content);
    expect(done.assistant_message.content).toBe("The team plan costs 20 euros per seat.");
    expect(done.user_message.content).toBe("How much does the team plan cost?");
    // Streams are the only 200s of this route (a plain reply is a 201): the latency SLI relies on it.
    expect((await streamsAnswered()) - before).toBe(1);
  });

  it("answers a streaming request for an unknown conversation with a JSON 404", async () => {
    const response = await api(
      url,
      "POST",
      "/api/conversations/00000000-0000-4000-8000-000000000000/messages",
      {
        token: alice.token,
        body: { content: "hi" },
        headers: { accept: "text/event-stream" },
      },
    );
    expect(response).toMatchObject({ status: 404, body: { error: { code: "not_found" } } });
  });
});

describe("tenant isolation", () => {
  it("answers 404 for another tenant's resources on every route and never lists them", async () => {
    const bot = await createChatbot(url, alice.token, "Alice's bot");
    const conversation = await createConversation(url, alice.token, bot.id);
    await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
      body: { content: "secret question" },
    });
    const asBob = { token: bob.token };
    expect((await api(url, "GET", `/api/chatbots/${bot.id}`, asBob)).status).toBe(404);
    expect(
      (await api(url, "POST", `/api/chatbots/${bot.id}/conversations`, { ...asBob, body: {} })).status,
    ).toBe(404);
    expect((await api(url, "GET", `/api/conversations/${conversation.id}/messages`, asBob)).status).toBe(404);
    expect(
      (
        await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
          ...asBob,
          body: { content: "x" },
        })
      ).status,
    ).toBe(404);
    const bobBots = await api(url, "GET", "/api/chatbots", asBob);
    expect(bobBots.body.items.map((b: { id: string }) => b.id)).not.toContain(bot.id);
    const bobConversations = await api(url, "GET", "/api/conversations", asBob);
    expect(bobConversations.body.items.map((c: { id: string }) => c.id)).not.toContain(conversation.id);
    const bobStats = await api(url, "GET", "/api/analytics/dashboard", asBob);
    expect(bobStats.body.totals).toMatchObject({ messages: 0, conversations: 0, chatbots: 0 });
  });
});

describe("analytics", () => {
  it("reports totals and daily rows from the refreshed view", async () => {
    const tenant = await registerTenant(url);
    const bot = await createChatbot(url, tenant.token);
    const conversation = await createConversation(url, tenant.token, bot.id);
    for (const content of ["one", "two", "three"])
      await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
        token: tenant.token,
        body: { content },
      });
    const today = new Date().toISOString().slice(0, 10);
    let dashboard: unknown;
    for (let attempt = 0; attempt < 50; attempt++) {
      dashboard = (await api(url, "GET", "/api/analytics/dashboard?days=7", { token: tenant.token })).body;
      if ((dashboard as { totals: { messages: number } }).totals.messages === 6) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(dashboard).toEqual({
      totals: { conversations: 1, messages: 6, unique_users: 1, chatbots: 1 },
      daily: [{ date: today, conversations: 1, messages: 6, unique_users: 1 }],
      // This month's AI usage against the default plan's budget (the built-in provider costs nothing).
      ai_usage: {
        month: today.slice(0, 7),
        plan: "free",
        budget_tokens: 1_000_000,
        used_tokens: expect.any(Number),
        prompt_tokens: expect.any(Number),
        completion_tokens: expect.any(Number),
        cost_usd: 0,
        provider_replies: 3,
        cached_replies: 0,
        saved_cost_usd: 0,
      },
    });
  });

  it("validates days", async () => {
    for (const days of ["0", "91", "x"]) {
      const response = await api(url, "GET", `/api/analytics/dashboard?days=${days}`, { token: alice.token });
      expect(response.status).toBe(400);
      expect(response.body.error.message).toContain("query.days");
    }
  });
});

describe("telemetry", () => {
  it("exports every catalogue metric, labelled with route templates", async () => {
    const bot = await createChatbot(url, alice.token);
    const conversation = await createConversation(url, alice.token, bot.id);
    await api(url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: alice.token,
      body: { content: "hi" },
    });
    await api(url, "GET", `/api/conversations/${conversation.id}/messages`, { token: alice.token });
    const response = await api(url, "GET", "/metrics");
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = String(response.body);
    for (const { name } of Object.values(catalogue)) expect(text, name).toContain(`${name}`);
    expect(text).toContain('route="/api/conversations/:id/messages"');
    expect(text).not.toContain(conversation.id);
    expect(text).toMatch(/parley_cache_requests_total\{cache="messages",result="miss"\} \d+/);
    expect(text).toMatch(/parley_db_pool_connections\{pool="replica",state="idle"\} \d+/);
    expect(text).toMatch(/parley_db_pool_max_connections\{pool="primary"\} 5/);
    expect(text).toMatch(/parley_db_replica_lag_seconds\{replica="127\.0\.0\.1:\d+"\} [\d.e-]+/);
    expect(text).toMatch(/parley_circuit_state\{dependency="redis"\} 0/);
    expect(text).toMatch(
      /parley_ai_tokens_total\{provider="knowledge",model="knowledge-v1",kind="completion"\} \d+/,
    );
    expect(text).toContain('parley_build_info{version="dev",commit="unknown"} 1');
    expect(text).toContain("process_cpu_seconds_total");
  });

  it("labels refused and failed API requests with their route template, like answered ones", async () => {
    const count = async (route: string, status: number) => {
      const series = `parley_http_request_duration_seconds_count{method="GET",route="${route}",status_code="${status}"} `;
      const metrics = String((await api(url, "GET", "/metrics")).body).split("\n");
      return Number(metrics.find((line) => line.startsWith(series))?.slice(series.length) ?? 0);
    };
    const unknownChatbot = "/api/chatbots/00000000-0000-4000-8000-000000000000";
    const before = [await count("/api/chatbots", 401), await count("/api/chatbots/:id", 404)];
    expect((await api(url, "GET", "/api/chatbots")).status).toBe(401);
    expect((await api(url, "GET", unknownChatbot, { token: alice.token })).status).toBe(404);
    expect([await count("/api/chatbots", 401), await count("/api/chatbots/:id", 404)]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
  });

  it("compresses large JSON answers as the client asks (gzip preferred), never small or HEAD ones", async () => {
    const knowledge = Array.from({ length: 20 }, (_, n) => ({
      question: `question ${n}?`,
      answer: "x".repeat(200),
    }));
    const create = async (body: object) =>
      (await api(url, "POST", "/api/chatbots", { token: alice.token, body })).body as { id: string };
    const bot = await create({ name: "Big", knowledge });
    const small = await create({ name: "Small" });
    const get = (id: string, acceptEncoding: string, method = "GET") =>
      fetch(`${url}/api/chatbots/${id}`, {
        method,
        headers: { authorization: `Bearer ${alice.token}`, "accept-encoding": acceptEncoding },
      });
    const plain = await get(bot.id, "identity");
    const identityBody = await plain.text();
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(plain.headers.get("vary")).toBe("Accept-Encoding");
    expect(Number(plain.headers.get("content-length"))).toBe(Buffer.byteLength(identityBody));
    for (const [acceptEncoding, encoding] of [
      ["gzip, deflate, br", "gzip"],
      ["br", "br"],
      ["br, gzip;q=0.5", "br"],
      ["br;q=0.5, gzip", "gzip"],
      ["*", "gzip"],
      ["deflate", null],
      ["identity", null],
      ["br;q=0, gzip;q=0", null],
    ] as const) {
      const response = await get(bot.id, acceptEncoding);
      expect(response.headers.get("content-encoding"), acceptEncoding).toBe(encoding);
      expect(response.headers.get("vary"), acceptEncoding).toBe("Accept-Encoding");
      // fetch decodes what it was sent: the same JSON whatever the encoding.
      expect(await response.text(), acceptEncoding).toBe(identityBody);
    }
    expect(JSON.parse(identityBody).knowledge).toHaveLength(20);
    const head = await get(bot.id, "gzip, br", "HEAD");
    expect(head.headers.get("content-encoding")).toBeNull();
    expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(identityBody)));
    const smallAnswer = await get(small.id, "gzip, br");
    expect(Buffer.byteLength(await smallAnswer.text())).toBeLessThan(1024);
    expect(smallAnswer.headers.get("content-encoding")).toBeNull();
    expect(smallAnswer.headers.get("vary")).toBeNull();
  });

  it("logs requests as JSON without passwords or tokens", async () => {
    await api(url, "POST", "/api/auth/login", { body: { email: alice.email, password: alice.password } });
    const lines = logLines.map((line) => JSON.parse(line));
    expect(
      lines.some((line) => line.msg === "request" && line.route === "/api/auth/login" && line.req_id),
    ).toBe(true);
    const all = logLines.join("");
    expect(all).not.toContain(alice.password);
    expect(all).not.toContain(alice.token);
  });
});
