/**
 * Hostile input on every endpoint: the cases that once answered 500 (U+0000 in any text field, a
 * cursor before 4714 BC) answer 400 with the error shape, and fast-check generates bodies, queries,
 * headers and ids for every route: never a 5xx, always `{"error": {"code", "message"}}` on a 4xx,
 * nothing stored from a rejected request, and SQL- or script-looking text stored and returned
 * verbatim.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiResponse,
  api,
  createChatbot,
  createConversation,
  registerTenant,
  startTestApp,
  type Tenant,
  type TestApp,
} from "../../tests/support/app/harness";
import { encodeCursor } from "../src/domain/cursor";

let app: TestApp;
let tenant: Tenant;
let chatbotId: string;
let conversationId: string;
let primary: pg.Pool;

beforeAll(async () => {
  app = await startTestApp("hostile");
  tenant = await registerTenant(app.url);
  chatbotId = (await createChatbot(app.url, tenant.token)).id;
  conversationId = (await createConversation(app.url, tenant.token, chatbotId)).id;
  primary = new pg.Pool({ connectionString: app.database.primaryUrl, max: 2 });
});
afterAll(async () => {
  await primary?.end();
  await app?.close();
});

/** Whatever was asked, a 4xx carries the contract's error shape and nothing is a 5xx. */
function expectClientError(response: ApiResponse, status?: number) {
  expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
  if (status !== undefined) expect(response.status, JSON.stringify(response.body)).toBe(status);
  if (response.status >= 400) {
    expect(response.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  }
}

const nul = "before\u0000after";

describe("inputs that once answered 500", () => {
  it("refuses U+0000 in every text field with a 400 naming the field", async () => {
    const token = tenant.token;
    const cases: Array<[string, string, unknown, string]> = [
      [
        "POST",
        "/api/auth/register",
        { email: `nul-${randomUUID()}@example.com`, password: "long enough", name: nul },
        "body.name",
      ],
      [
        "POST",
        "/api/auth/register",
        { email: `nul-${randomUUID()}@example.com`, password: "long enough", organization: nul },
        "body.organization",
      ],
      [
        "POST",
        "/api/auth/register",
        { email: `nul-${randomUUID()}@example.com`, password: `long ${nul}` },
        "body.password",
      ],
      ["POST", "/api/auth/login", { email: `a${nul}@example.com`, password: "whatever" }, "body.email"],
      ["POST", "/api/chatbots", { name: nul }, "body.name"],
      ["POST", "/api/chatbots", { name: "ok", system_prompt: nul }, "body.system_prompt"],
      [
        "POST",
        "/api/chatbots",
        { name: "ok", knowledge: [{ question: nul, answer: "a" }] },
        "body.knowledge.0.question",
      ],
      [
        "POST",
        "/api/chatbots",
        { name: "ok", knowledge: [{ question: "q", answer: nul }] },
        "body.knowledge.0.answer",
      ],
      ["POST", `/api/chatbots/${chatbotId}/conversations`, { title: nul }, "body.title"],
      ["POST", `/api/conversations/${conversationId}/messages`, { content: nul }, "body.content"],
      [
        "POST",
        `/api/conversations/${conversationId}/messages`,
        { content: "half a pair \ud800" },
        "body.content",
      ],
    ];
    for (const [method, path, body, field] of cases) {
      const response = await api(app.url, method, path, { token, body });
      expectClientError(response, 400);
      expect(response.body.error.message).toContain(field);
    }
  });

  it("refuses cursors outside PostgreSQL's range, and strange query values, with a 400", async () => {
    const id = randomUUID();
    for (const date of [
      "-004800-01-01T00:00:00.000Z",
      "-271821-04-20T00:00:00.000Z",
      "+275760-09-13T00:00:00.000Z",
    ]) {
      const cursor = encodeCursor({ createdAt: date, id });
      for (const path of [
        "/api/chatbots",
        "/api/conversations",
        `/api/conversations/${conversationId}/messages`,
      ]) {
        const response = await api(app.url, "GET", `${path}?cursor=${cursor}`, { token: tenant.token });
        expectClientError(response, 400);
        expect(response.body.error.code).toBe("invalid_cursor");
      }
    }
    for (const query of ["cursor=%00", "limit=1e400", "limit[]=1", "cursor[a]=b", "limit=-0"])
      expectClientError(await api(app.url, "GET", `/api/chatbots?${query}`, { token: tenant.token }));
  });
});

/** Requests the properties sent and how many answered 5xx, printed for docs/reliability.md. */
const tally = { requests: 0, serverErrors: 0 };
afterAll(() => {
  console.log(`hostile input: ${tally.requests} generated requests, ${tally.serverErrors} answered 5xx`);
});

/** A request whose outcome is checked by `expectClientError` and counted. */
async function send(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<ApiResponse> {
  tally.requests++;
  let response: ApiResponse;
  if (options.raw === undefined) response = await api(app.url, method, path, options);
  else {
    const raw = await fetch(`${app.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${options.token}`, ...options.headers },
      body: options.raw,
    });
    const text = await raw.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // asserted below: a 4xx must be JSON
    }
    response = { status: raw.status, headers: raw.headers, body };
  }
  if (response.status >= 500) tally.serverErrors++;
  expectClientError(response);
  return response;
}

/** Text an attacker would try: SQL, markup, template and path tricks, control and odd characters. */
const nasty = fc.constantFrom(
  "' OR '1'='1",
  "'; DROP TABLE messages; --",
  "\\'; SELECT pg_sleep(10); --",
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe, meant literally
  "${jndi:ldap://example.com/a}",
  "{{7*7}}",
  "../../../../etc/passwd",
  "\u0000",
  "\ud800",
  "\udfff",
  "\u202e\u0007\u001b[31m",
  "👩‍👩‍👧‍👦",
  "%00",
  "null",
  " ",
);
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 60 }),
  nasty,
  fc.tuple(fc.string({ maxLength: 10 }), nasty, fc.string({ maxLength: 10 })).map((parts) => parts.join("")),
  fc.string({ minLength: 3990, maxLength: 4100 }),
);
/** Any JSON value, or a text in its place. */
const value = fc.oneof(text, fc.jsonValue({ maxDepth: 2 }));
const id = fc.oneof(
  fc.uuid(),
  text.filter((candidate) => candidate.length > 0),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "NaN", "-1", "%2e%2e", "1 OR 1=1"),
);
const pageQueries = fc.record(
  { cursor: fc.oneof(text, fc.base64String()), limit: fc.oneof(text, fc.integer().map(String)) },
  { requiredKeys: [] },
);
const queryString = (query: Record<string, string>) => new URLSearchParams(query).toString();
/** A path segment, percent-encoded; half a surrogate pair is sent as its (invalid UTF-8) bytes. */
const segment = (value: string) =>
  Array.from(value, (character) =>
    /^[\uD800-\uDFFF]$/.test(character) ? "%ED%A0%80" : encodeURIComponent(character),
  ).join("");
/** An HTTP header value fetch can send (visible ASCII and spaces). */
const headerValue = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
});
const runs = { numRuns: 60 };

const count = async (sql: string, params: unknown[]) =>
  (await primary.query<{ n: number }>(sql, params)).rows[0]!.n;
const messageCount = () =>
  count("SELECT count(*)::int AS n FROM messages WHERE organization_id = $1", [tenant.organizationId]);
const chatbotCount = () =>
  count("SELECT count(*)::int AS n FROM chatbots WHERE organization_id = $1", [tenant.organizationId]);
const conversationCount = () =>
  count("SELECT count(*)::int AS n FROM conversations WHERE organization_id = $1", [tenant.organizationId]);

describe("generated hostile input (fast-check)", () => {
  it("POST /api/auth/register: 201 or a 4xx, and a refused sign-up stores no user", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            email: fc.oneof(
              value,
              fc.emailAddress(),
              text.map((local) => `${segment(local)}@example.com`),
            ),
            password: fc.oneof(value, fc.constantFrom("password", "12345678", "a valid passphrase")),
            name: value,
            organization: value,
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const users = () => count("SELECT count(*)::int AS n FROM users", []);
          const before = await users();
          const response = await send("POST", "/api/auth/register", { body });
          if (response.status !== 201) expect(await users()).toBe(before);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("POST /api/auth/login: only 400, 401 or 429", async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ email: value, password: value }, { requiredKeys: [] }), async (body) => {
        expect([400, 401, 429]).toContain((await send("POST", "/api/auth/login", { body })).status);
      }),
      runs,
    );
  });

  it("POST /api/chatbots: refused bodies store nothing; stored text comes back verbatim", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            name: value,
            system_prompt: value,
            knowledge: fc.oneof(
              value,
              fc.array(fc.record({ question: value, answer: value }), { maxLength: 3 }),
            ),
          },
          { requiredKeys: [] },
        ),
        async (body) => {
          const before = await chatbotCount();
          const response = await send("POST", "/api/chatbots", { token: tenant.token, body });
          if (response.status !== 201) {
            expect(await chatbotCount()).toBe(before);
            return;
          }
          const stored = await send("GET", `/api/chatbots/${response.body.id}`, { token: tenant.token });
          expect(stored.body.name).toBe((body.name as string).trim());
          expect(stored.body.system_prompt).toBe(body.system_prompt ?? "");
        },
      ),
      runs,
    );
  });

  it("ids and page queries of every GET route: never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        id,
        pageQueries,
        fc.oneof(text, fc.integer().map(String)),
        async (given, query, days) => {
          const path = segment(given);
          const qs = queryString(query);
          await send("GET", `/api/chatbots/${path}`, { token: tenant.token });
          await send("GET", `/api/chatbots?${qs}`, { token: tenant.token });
          await send("GET", `/api/conversations?${qs}`, { token: tenant.token });
          await send("GET", `/api/conversations/${path}/messages?${qs}`, { token: tenant.token });
          await send("GET", `/api/conversations/${conversationId}/messages?${qs}`, { token: tenant.token });
          await send("GET", `/api/analytics/dashboard?${queryString({ days })}`, { token: tenant.token });
        },
      ),
      runs,
    );
    // Six requests per run: slow when the whole integration project shares the machine.
  }, 180_000);

  it("POST conversations and messages: refused requests store nothing; content comes back verbatim", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(chatbotId), id),
        fc.record({ title: value }, { requiredKeys: [] }),
        fc.record({ content: value }, { requiredKeys: [] }),
        fc.option(headerValue),
        async (bot, conversationBody, messageBody, key) => {
          const conversationsBefore = await conversationCount();
          const created = await send("POST", `/api/chatbots/${segment(bot)}/conversations`, {
            token: tenant.token,
            body: conversationBody,
          });
          if (created.status !== 201) expect(await conversationCount()).toBe(conversationsBefore);
          const messagesBefore = await messageCount();
          const posted = await send("POST", `/api/conversations/${conversationId}/messages`, {
            token: tenant.token,
            body: messageBody,
            headers: key === null ? {} : { "idempotency-key": `${randomUUID()}${key}` },
          });
          if (posted.status !== 201) {
            expect(await messageCount()).toBe(messagesBefore);
            return;
          }
          expect(posted.body.user_message.content).toBe((messageBody.content as string).trim());
          const page = await send("GET", `/api/conversations/${conversationId}/messages?limit=2`, {
            token: tenant.token,
          });
          expect(page.body.items[1].content).toBe((messageBody.content as string).trim());
        },
      ),
      runs,
    );
  });

  it("headers and raw bodies: bad tokens, content types and JSON answer a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        headerValue,
        headerValue,
        fc.string({ unit: "binary", maxLength: 200 }),
        async (auth, type, raw) => {
          await send("GET", "/api/chatbots", { headers: { authorization: auth } });
          await send("GET", "/api/chatbots", { headers: { authorization: `Bearer ${auth}` } });
          const before = await messageCount();
          await send("POST", `/api/conversations/${conversationId}/messages`, {
            token: tenant.token,
            raw,
            headers: { "content-type": type, "idempotency-key": auth },
          });
          await send("POST", "/api/chatbots", {
            token: tenant.token,
            raw,
            headers: { "content-type": "application/json" },
          });
          const after = await messageCount();
          // A raw body is stored only if it happened to be a valid message.
          if (after !== before) expect(after).toBe(before + 2);
        },
      ),
      runs,
    );
  });
});
