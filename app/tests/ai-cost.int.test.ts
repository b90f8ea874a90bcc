/**
 * AI cost controls end to end, against the local fake OpenAI-compatible server, PostgreSQL and Redis:
 * model routing (the model sent and the `model` label), the semantic response cache (hits on a
 * paraphrase, misses on another question, invalidation when the knowledge changes), spend per
 * organization (`parley_ai_cost_usd_total`, the dashboard), and the monthly token budget under
 * concurrency across two app instances sharing the database.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeOpenAi, fakeUsage, startFakeOpenAi } from "../../tests/support/app/fake-openai";
import {
  api,
  createConversation,
  knowledge,
  postMessageStream,
  registerTenant,
  startTestApp,
  type Tenant,
  type TestApp,
} from "../../tests/support/app/harness";
import { costUsd } from "../src/ai/prices";
import { usageReport } from "../src/ai/usage-report";
import { keys } from "../src/services/keys";

let fake: FakeOpenAi;
let app: TestApp;
let second: TestApp;
let db: pg.Pool;
let redis: Redis;

/** A fresh organization with a chatbot routing between gpt-4o-mini and gpt-4o. */
async function routedTenant(base = app.url) {
  const tenant = await registerTenant(base);
  const chatbot = await api(base, "POST", "/api/chatbots", {
    token: tenant.token,
    body: {
      name: "Routed",
      system_prompt: "Be brief.",
      knowledge,
      ai: { cheap_model: "gpt-4o-mini", strong_model: "gpt-4o" },
    },
  });
  expect(chatbot.status, JSON.stringify(chatbot.body)).toBe(201);
  return { tenant, chatbotId: chatbot.body.id as string };
}

const post = (tenant: Tenant, conversationId: string, content: string, base = app.url) =>
  api(base, "POST", `/api/conversations/${conversationId}/messages`, {
    token: tenant.token,
    body: { content },
  });

/** Posts `content` in a new conversation (so no history is sent). */
async function ask(tenant: Tenant, chatbotId: string, content: string, base = app.url) {
  const conversation = await createConversation(base, tenant.token, chatbotId);
  return post(tenant, conversation.id, content, base);
}

async function metricValue(pattern: RegExp): Promise<number> {
  const text = String((await api(app.url, "GET", "/metrics")).body);
  const match = pattern.exec(text);
  return match ? Number(match[1]) : 0;
}

const providerEnv = () => ({
  AI_PROVIDER: "openai",
  OPENAI_BASE_URL: fake.baseUrl,
  OPENAI_API_KEY: "sk-fake",
  OPENAI_MODEL: "fake-model",
});
// Completion cap 8: the fake always answers with 7 completion tokens.
const smallCap = (config: TestApp["config"]) => ({
  ...config,
  ai: { ...config.ai, maxCompletionTokens: 8 },
});
/** Another "pod": its own process state, the same database and Redis as `app`. */
const anotherPod = () =>
  startTestApp(
    "aicost",
    (config) => ({ ...smallCap(config), redisUrl: app.config.redisUrl }),
    providerEnv(),
    app.database,
  );

beforeAll(async () => {
  fake = await startFakeOpenAi();
  app = await startTestApp("aicost", smallCap, providerEnv());
  second = await anotherPod();
  db = new pg.Pool({ connectionString: app.database.primaryUrl });
  redis = new Redis(app.config.redisUrl);
});

afterAll(async () => {
  await second?.close();
  await app?.close();
  await fake?.close();
  await db?.end();
  redis?.disconnect();
});

beforeEach(() => {
  fake.reset();
});

describe("model routing", () => {
  it("sends a knowledge question to the cheap model and a complex one to the strong model", async () => {
    const { tenant, chatbotId } = await routedTenant();
    expect((await ask(tenant, chatbotId, "What are your opening hours?")).status).toBe(201);
    expect((await ask(tenant, chatbotId, "Can you explain why the team plan costs that much?")).status).toBe(
      201,
    );
    expect(fake.received.map((request) => request.model)).toEqual(["gpt-4o-mini", "gpt-4o"]);
    expect(fake.received.every((request) => request.max_completion_tokens === 8)).toBe(true);
    for (const model of ["gpt-4o-mini", "gpt-4o"])
      expect(
        await metricValue(
          new RegExp(
            `parley_ai_tokens_total\\{provider="openai",model="${model}",kind="completion"\\} (\\d+)`,
          ),
        ),
      ).toBeGreaterThanOrEqual(fakeUsage.completion_tokens);
  });

  it("uses the provider's model for a chatbot that declares none", async () => {
    const tenant = await registerTenant(app.url);
    const chatbot = await api(app.url, "POST", "/api/chatbots", {
      token: tenant.token,
      body: { name: "Plain" },
    });
    await ask(tenant, chatbot.body.id, "What are your opening hours?");
    expect(fake.received.map((request) => request.model)).toEqual(["fake-model"]);
  });

  it("rejects models outside the price table and a cheap model without a strong one, naming the field", async () => {
    const tenant = await registerTenant(app.url);
    const unknown = await api(app.url, "POST", "/api/chatbots", {
      token: tenant.token,
      body: { name: "Bad", ai: { cheap_model: "gpt-9", strong_model: "gpt-4o" } },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("validation_failed");
    expect(unknown.body.error.message).toContain("body.ai.cheap_model");
    expect(unknown.body.error.message).toContain("gpt-4o-mini");
    const half = await api(app.url, "POST", "/api/chatbots", {
      token: tenant.token,
      body: { name: "Bad", ai: { cheap_model: "gpt-4o-mini" } },
    });
    expect(half.status).toBe(400);
    expect(half.body.error.message).toContain("body.ai.strong_model");
  });
});

describe("spend", () => {
  it("prices each reply with its model and counts it per organization, in metrics and the dashboard", async () => {
    const { tenant, chatbotId } = await routedTenant();
    await ask(tenant, chatbotId, "What are your opening hours?");
    await ask(tenant, chatbotId, "Can you explain why the team plan costs that much?");
    const tokens = { promptTokens: fakeUsage.prompt_tokens, completionTokens: fakeUsage.completion_tokens };
    const cheap = costUsd("gpt-4o-mini", tokens, new Date()).usd;
    const strong = costUsd("gpt-4o", tokens, new Date()).usd;
    expect(cheap).toBeGreaterThan(0);
    const org = tenant.organizationId;
    expect(
      await metricValue(
        new RegExp(
          `parley_ai_cost_usd_total\\{organization="${org}",provider="openai",model="gpt-4o"\\} ([\\d.e-]+)`,
        ),
      ),
    ).toBeCloseTo(strong, 12);
    const dashboard = await api(app.url, "GET", "/api/analytics/dashboard", { token: tenant.token });
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.ai_usage).toMatchObject({
      month: new Date().toISOString().slice(0, 7),
      plan: "free",
      budget_tokens: 1_000_000,
      used_tokens: 2 * (fakeUsage.prompt_tokens + fakeUsage.completion_tokens),
      prompt_tokens: 2 * fakeUsage.prompt_tokens,
      completion_tokens: 2 * fakeUsage.completion_tokens,
      provider_replies: 2,
    });
    expect(dashboard.body.ai_usage.cost_usd).toBeCloseTo(cheap + strong, 12);
    expect(dashboard.body.totals).toHaveProperty("messages");
  });
});

describe("response cache", () => {
  const exactCache = async () => [
    await metricValue(/parley_cache_requests_total\{cache="ai_response",result="hit"\} (\d+)/),
    await metricValue(/parley_cache_requests_total\{cache="ai_response",result="miss"\} (\d+)/),
  ];

  it("answers an identical prompt from the cache, counted once, and never from a version the chatbot has left", async () => {
    const { tenant, chatbotId } = await routedTenant();
    const question = "What are your opening hours?";
    await ask(tenant, chatbotId, question);
    expect(fake.received).toHaveLength(1);
    const [hits, misses] = await exactCache();
    const again = await ask(tenant, chatbotId, question);
    expect(again.body.assistant_message.content).toBe(`You said: ${question}`);
    expect(fake.received).toHaveLength(1);
    expect(await exactCache()).toEqual([hits! + 1, misses]);
    // An edit: the old version's answer stays cached under its own key, and is not used.
    await db.query(
      "UPDATE chatbots SET system_prompt = 'Answer in one word.', updated_at = now() WHERE id = $1",
      [chatbotId],
    );
    await redis.del(keys.chatbot(tenant.organizationId, chatbotId));
    await app.database.replicated();
    const edited = await ask(tenant, chatbotId, question);
    expect(edited.status).toBe(201);
    expect(fake.received).toHaveLength(2);
    expect(JSON.stringify(fake.received[1])).toContain("Answer in one word.");
  });
});

describe("semantic response cache", () => {
  const semanticHits = () =>
    metricValue(/parley_cache_requests_total\{cache="ai_semantic",result="hit"\} (\d+)/);

  it("answers a paraphrase from the cache and calls the provider for a different question", async () => {
    const { tenant, chatbotId } = await routedTenant();
    const first = await ask(tenant, chatbotId, "How do I reset my password?");
    expect(first.status).toBe(201);
    const hitsBefore = await semanticHits();
    const paraphrase = await ask(tenant, chatbotId, "I forgot my password, how can I reset it?");
    expect(paraphrase.status).toBe(201);
    expect(paraphrase.body.assistant_message.content).toBe("You said: How do I reset my password?");
    expect(fake.received).toHaveLength(1);
    expect(await semanticHits()).toBe(hitsBefore + 1);

    const different = await ask(tenant, chatbotId, "How do I change my password?");
    expect(different.body.assistant_message.content).toBe("You said: How do I change my password?");
    expect(fake.received).toHaveLength(2);

    const dashboard = await api(app.url, "GET", "/api/analytics/dashboard", { token: tenant.token });
    expect(dashboard.body.ai_usage).toMatchObject({ provider_replies: 2, cached_replies: 1 });
    expect(dashboard.body.ai_usage.saved_cost_usd).toBeGreaterThan(0);
  });

  it("does not share answers between chatbots", async () => {
    const { tenant, chatbotId } = await routedTenant();
    const other = await routedTenant();
    await ask(tenant, chatbotId, "Do you offer refunds?");
    await ask(other.tenant, other.chatbotId, "Can I get a refund?");
    expect(fake.received).toHaveLength(2);
  });

  it("misses once the chatbot's knowledge changes", async () => {
    const { tenant, chatbotId } = await routedTenant();
    await ask(tenant, chatbotId, "Is there a free trial?");
    await ask(tenant, chatbotId, "Do you have a free trial?");
    expect(fake.received).toHaveLength(1);
    // What an edit of the chatbot does: new knowledge in the row, the cached chatbot dropped.
    await db.query(
      `UPDATE chatbots SET knowledge = knowledge || '[{"question": "Trial?", "answer": "14 days."}]', updated_at = now() WHERE id = $1`,
      [chatbotId],
    );
    await redis.del(keys.chatbot(tenant.organizationId, chatbotId));
    await app.database.replicated();
    await ask(tenant, chatbotId, "Do you have a free trial?");
    expect(fake.received).toHaveLength(2);
  });

  it("is off for a chatbot whose threshold is null, and follows a chatbot's own threshold", async () => {
    const tenant = await registerTenant(app.url);
    const create = (ai: object) =>
      api(app.url, "POST", "/api/chatbots", { token: tenant.token, body: { name: "T", ai } });
    const off = (await create({ semantic_cache_threshold: null })).body.id;
    await ask(tenant, off, "Do you ship internationally?");
    await ask(tenant, off, "Do you offer international shipping?");
    expect(fake.received).toHaveLength(2);
    // "…to other countries" scores 0.82: a miss at the default 0.85, a hit at 0.8.
    const loose = (await create({ semantic_cache_threshold: 0.8 })).body.id;
    await ask(tenant, loose, "Do you ship internationally?");
    await ask(tenant, loose, "Do you ship internationally to other countries?");
    expect(fake.received).toHaveLength(3);
    const invalid = await create({ semantic_cache_threshold: 0.2 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain("body.ai.semantic_cache_threshold");
  });
});

describe("monthly token budget", () => {
  const replyTokens = fakeUsage.prompt_tokens + fakeUsage.completion_tokens;
  const budget = 200;

  it("answers 429 ai_budget_exceeded once spent, never overspending by more than one reply under concurrency on two pods", async () => {
    const tenant = await registerTenant(app.url);
    await db.query("UPDATE organizations SET monthly_token_budget = $2 WHERE id = $1", [
      tenant.organizationId,
      budget,
    ]);
    const chatbot = await api(app.url, "POST", "/api/chatbots", {
      token: tenant.token,
      body: { name: "Budget", ai: { semantic_cache_threshold: null } },
    });
    const conversations = await Promise.all(
      Array.from({ length: 20 }, () => createConversation(app.url, tenant.token, chatbot.body.id)),
    );
    // Replies take 150 ms, so each burst's requests are all in flight together.
    fake.script.delayMs = 150;
    const statuses: number[] = [];
    for (let burst = 0; burst < 8; burst++) {
      const responses = await Promise.all(
        conversations.map((conversation, n) =>
          post(
            tenant,
            conversation.id,
            `question ${burst}-${n} ${randomUUID()}`,
            n % 2 ? second.url : app.url,
          ),
        ),
      );
      statuses.push(...responses.map((response) => response.status));
      const rejected = responses.find((response) => response.status === 429);
      if (rejected) {
        expect(rejected.body.error.code).toBe("ai_budget_exceeded");
        expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses.filter((status) => status !== 201 && status !== 429)).toEqual([]);
    const accepted = statuses.filter((status) => status === 201).length;
    const { rows } = await db.query(
      "SELECT used_tokens, reserved_tokens FROM ai_token_budget WHERE organization_id = $1",
      [tenant.organizationId],
    );
    const used = Number(rows[0].used_tokens);
    expect(used).toBe(accepted * replyTokens);
    expect(Number(rows[0].reserved_tokens)).toBe(0);
    // Spent down to the budget, past it by at most the one reply admitted last.
    expect(used).toBeGreaterThanOrEqual(budget);
    expect(used).toBeLessThanOrEqual(budget + replyTokens);
    expect(fake.received).toHaveLength(accepted);

    const exhausted = await post(tenant, conversations[0]!.id, `one more ${randomUUID()}`);
    expect(exhausted.status).toBe(429);
    expect(exhausted.body.error.message).toMatch(
      new RegExp(
        `used its monthly AI token budget \\(${used} of ${budget} tokens\\); it renews on \\d{4}-\\d{2}-01`,
      ),
    );
    const dashboard = await api(app.url, "GET", "/api/analytics/dashboard", { token: tenant.token });
    expect(dashboard.body.ai_usage).toMatchObject({ budget_tokens: budget, used_tokens: used });
  });

  it("still answers from the cache when over budget (a cached reply spends no tokens)", async () => {
    const { tenant, chatbotId } = await routedTenant();
    // A budget of one token admits one reply, which spends it; nothing is left to lease.
    await db.query("UPDATE organizations SET monthly_token_budget = 1 WHERE id = $1", [
      tenant.organizationId,
    ]);
    expect((await ask(tenant, chatbotId, "How do I export my data?")).status).toBe(201);
    expect((await ask(tenant, chatbotId, "Can I export all my data?")).status).toBe(201);
    const fresh = await ask(tenant, chatbotId, "How do I delete my account?");
    expect(fresh.status).toBe(429);
    expect(fresh.body.error.code).toBe("ai_budget_exceeded");
    // A streamed request is refused before the stream opens: a plain 429 with the JSON error.
    const conversation = await createConversation(app.url, tenant.token, chatbotId);
    const streamed = await postMessageStream(
      app.url,
      tenant.token,
      conversation.id,
      "How do I delete my account?",
    );
    expect(streamed.status).toBe(429);
    expect(streamed.headers.get("content-type")).toContain("application/json");
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("ai_budget_exceeded");
  });

  it("gives its token leases back when it shuts down", async () => {
    const pod = await anotherPod();
    try {
      const tenant = await registerTenant(pod.url);
      const chatbot = await api(pod.url, "POST", "/api/chatbots", {
        token: tenant.token,
        body: { name: "L" },
      });
      expect((await ask(tenant, chatbot.body.id, "How do I export my data?", pod.url)).status).toBe(201);
      const reserved = async () =>
        Number(
          (
            await db.query("SELECT reserved_tokens FROM ai_token_budget WHERE organization_id = $1", [
              tenant.organizationId,
            ])
          ).rows[0].reserved_tokens,
        );
      // The free plan's budget leaves room for a lease, held beyond the reply just settled.
      expect(await reserved()).toBeGreaterThan(0);
      await pod.close();
      expect(await reserved()).toBe(0);
    } finally {
      await pod.close();
    }
  });

  it("gives the reservation back when the provider fails, through the process's lease once it is idle", async () => {
    const tenant = await registerTenant(app.url);
    await db.query("UPDATE organizations SET monthly_token_budget = 50 WHERE id = $1", [
      tenant.organizationId,
    ]);
    const chatbot = await api(app.url, "POST", "/api/chatbots", { token: tenant.token, body: { name: "F" } });
    const conversation = await createConversation(app.url, tenant.token, chatbot.body.id);
    // A 400 is final: no retries, the reply fails at once.
    fake.script.fail = [400];
    const failed = await post(tenant, conversation.id, "anyone there?");
    expect(failed.status).toBe(502);
    expect(fake.received).toHaveLength(1);
    // The app's leases go back after 500 ms without a reply drawing on them (app/src/ai/usage.ts).
    const deadline = Date.now() + 10_000;
    let row: unknown;
    do {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ({
        rows: [row],
      } = await db.query(
        "SELECT used_tokens, reserved_tokens FROM ai_token_budget WHERE organization_id = $1",
        [tenant.organizationId],
      ));
    } while (Date.now() < deadline && (row as { reserved_tokens: string }).reserved_tokens !== "0");
    expect(row).toEqual({ used_tokens: "0", reserved_tokens: "0" });
  });
});

describe("npm run ai:usage", () => {
  it("reports an organization's tokens, cost, cache savings and routing mix, as a table and as CSV", async () => {
    const { tenant, chatbotId } = await routedTenant();
    await ask(tenant, chatbotId, "What are your opening hours?");
    await ask(tenant, chatbotId, "Can you explain why the team plan costs that much?");
    await ask(tenant, chatbotId, "What are your opening hours today?");
    const today = new Date().toISOString().slice(0, 10);
    const period = { from: today, to: today };
    const row = (await usageReport(app.database.primaryUrl, period)).find(
      (candidate) => candidate.organization_id === tenant.organizationId,
    );
    const tokens = { promptTokens: fakeUsage.prompt_tokens, completionTokens: fakeUsage.completion_tokens };
    expect(row).toMatchObject({
      plan: "free",
      provider_replies: 2,
      prompt_tokens: 2 * fakeUsage.prompt_tokens,
      completion_tokens: 2 * fakeUsage.completion_tokens,
      semantic_cache_hits: 1,
      exact_cache_hits: 0,
      saved_tokens: fakeUsage.prompt_tokens + fakeUsage.completion_tokens,
      cheap_replies: 1,
      strong_replies: 1,
    });
    expect(row!.cost_usd).toBeCloseTo(
      costUsd("gpt-4o-mini", tokens, new Date()).usd + costUsd("gpt-4o", tokens, new Date()).usd,
      12,
    );
    expect(row!.saved_usd).toBeCloseTo(costUsd("gpt-4o-mini", tokens, new Date()).usd, 12);

    const run = (args: string[], env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, ["--import", "tsx", "app/src/ai/usage-cli.ts", ...args], {
        encoding: "utf8",
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
    const csv = run(["--from", today, "--to", today, "--format", "csv"], {
      DATABASE_URL: app.database.primaryUrl,
    });
    expect(csv.status, csv.stderr).toBe(0);
    expect(csv.stdout.split("\r\n")[0]).toMatch(/^organization_id,organization,plan,provider_replies,/);
    expect(csv.stdout).toContain(`${tenant.organizationId},`);
    const table = run([], { DATABASE_URL: app.database.primaryUrl });
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${tenant.organizationId}\\).*cheap 50% / strong 50%`));
    const bad = run(["--format", "xml"], { DATABASE_URL: app.database.primaryUrl });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('ai:usage: --format="xml": expected table or csv');
    const unset = run([], { DATABASE_URL: "" });
    expect(unset.status).toBe(1);
    expect(unset.stderr.trim()).toBe("ai:usage: DATABASE_URL is not set (expected a postgres:// URL)");
  });
});
