/**
 * The queries the app runs on its hot paths, in one place for the plan test
 * (app/tests/query-plans.int.test.ts) and `npm run bench:queries` (./queries.ts). Each is captured
 * from the code that runs it — the stores in app/src/data, the AI usage ledger and the maintenance
 * round — through a recording stand-in for the database, so the SQL checked is the SQL shipped.
 * Parameters come from a load data set (./seed-load.ts): a busy organization, a long conversation,
 * a cursor deep into it.
 */
import type pg from "pg";
import { pino } from "pino";
import { monthOf } from "../src/ai/plans";
import { AiUsage } from "../src/ai/usage";
import { AnalyticsStore } from "../src/data/analytics";
import { ChatbotStore } from "../src/data/chatbots";
import { ConversationStore } from "../src/data/conversations";
import { MessageStore } from "../src/data/messages";
import { UserStore } from "../src/data/users";
import type { Database } from "../src/db/database";
import { Maintenance } from "../src/db/maintenance";
import type { Cursor } from "../src/domain/cursor";
import { createMetrics } from "../src/telemetry/metrics";

/** Tables with load-sized row counts: a sequential scan of these is a plan defect. */
export const bigTables = /^(messages|messages_\d{4}_\d{2}|conversations)$/;

export interface HotQuery {
  /** The operation name the app times it under (parley_db_query_duration_seconds), plus a variant. */
  name: string;
  sql: string;
  params: unknown[];
  /** Changes data: run inside a transaction that is rolled back. */
  writes: boolean;
}

/** Real values from the data set that the queries are run with. */
export interface QuerySample {
  organizationId: string;
  userId: string;
  email: string;
  chatbotId: string;
  conversationId: string;
  /** A message about half-way into the conversation: where a deep page starts. */
  deepCursor: Cursor;
  /** The newest conversation and chatbot of the organization: where their second list page starts. */
  conversationCursor: Cursor;
  chatbotCursor: Cursor;
  idempotencyKey: string;
}

/**
 * Statements that are not plannable queries: transaction control, locks, DDL, REFRESH, and the
 * maintenance functions that run DDL as their owner (migration 5).
 */
const notPlannable =
  /^\s*(BEGIN|COMMIT|ROLLBACK|CREATE|REFRESH|SELECT pg_(try_)?advisory|SELECT public\.parley_)/i;

/** A stand-in for Database that records every statement and answers with one empty-ish row. */
function recorder() {
  const recorded: Array<{ name: string; sql: string; params: unknown[]; writes: boolean }> = [];
  const answer = { rows: [{ locked: true }] as never[], rowCount: 1 } as pg.QueryResult<never>;
  const isWrite = (sql: string) =>
    /^\s*(WITH[\s\S]*\b(INSERT|UPDATE|DELETE)\b|INSERT|UPDATE|DELETE)/i.test(sql);
  const record = (name: string, sql: string, params: unknown[] = []) => {
    const named =
      name !== "maintenance"
        ? name
        : /pg_class/.test(sql)
          ? "maintenance.partitions"
          : /idempotency_keys/.test(sql)
            ? "maintenance.expire_idempotency_keys"
            : name;
    if (!notPlannable.test(sql)) recorded.push({ name: named, sql, params, writes: isWrite(sql) });
    return answer;
  };
  let current = "";
  const client = {
    query: async (sql: string, params?: unknown[]) => record(current, sql, params),
    on: () => client,
    off: () => client,
    release: () => undefined,
  };
  const database = {
    read: async (name: string, sql: string, params: unknown[]) => record(name, sql, params),
    query: async (_pool: string, name: string, sql: string, params: unknown[]) => record(name, sql, params),
    transaction: async (name: string, work: (queryable: typeof client) => Promise<unknown>) => {
      current = name;
      return work(client);
    },
    primary: {
      connect: async () => {
        current = "maintenance";
        return client;
      },
    },
  };
  return { recorded, database: database as unknown as Database };
}

/**
 * Every hot query with the sample's parameters, named by the operation that runs it
 * (`:first`/`:deep` for the first and a deep page).
 */
export async function hotQueries(sample: QuerySample): Promise<HotQuery[]> {
  const { recorded, database } = recorder();
  const log = pino({ level: "silent" });
  const users = new UserStore(database);
  const chatbots = new ChatbotStore(database);
  const conversations = new ConversationStore(database);
  const messages = new MessageStore(database);
  const analytics = new AnalyticsStore(database);
  // Without leases: the reservation below is the database's call, and no lease is given back later.
  const usage = new AiUsage(database, createMetrics({ version: "bench", commit: "bench" }), {
    leaseReplies: 0,
  });
  const org = sample.organizationId;
  const variant = async (suffix: string, run: () => Promise<unknown>) => {
    const from = recorded.length;
    await run();
    for (const query of recorded.slice(from)) query.name += suffix;
  };

  await users.findByEmail(sample.email);
  await chatbots.get(org, sample.chatbotId, false);
  await variant(":first", () => chatbots.list(org, undefined, 20, false));
  await variant(":next", () => chatbots.list(org, sample.chatbotCursor, 20, false));
  await conversations.get(org, sample.conversationId);
  await variant(":first", () => conversations.list(org, undefined, 20, false));
  await variant(":next", () => conversations.list(org, sample.conversationCursor, 20, false));
  await conversations.countActive();
  await conversations.create(org, sample.chatbotId, sample.userId, "Load test");
  await variant(":first", () => messages.page(org, sample.conversationId, undefined, 50, false));
  await variant(":deep", () => messages.page(org, sample.conversationId, sample.deepCursor, 50, false));
  await messages.recentTurns(sample.conversationId, 20);
  await messages.findIdempotent(sample.userId, sample.idempotencyKey);
  await messages.claimIdempotencyKey({
    userId: sample.userId,
    key: `bench-${sample.idempotencyKey}`,
    conversationId: sample.conversationId,
    requestHash: "bench",
    claim: "00000000-0000-4000-8000-000000000000",
    staleAfterMs: 60_000,
  });
  // A provider reply's exchange, as most messages are stored; then one under an Idempotency-Key.
  const usageOf = (source: "provider" | "semantic_cache") => {
    const reply = {
      provider: "knowledge",
      model: "knowledge-v1",
      route: "default" as const,
      promptTokens: 40,
      completionTokens: 20,
    };
    return source === "provider"
      ? usage.providerReply({ organizationId: org, month: monthOf(new Date()), tokens: 1000 }, reply)
      : usage.cacheHit(org, source, reply);
  };
  const exchange = {
    organizationId: org,
    conversationId: sample.conversationId,
    userId: sample.userId,
    userContent: "How do I reset my password?",
    assistantContent: "Use the link on the sign-in page.",
  };
  await messages.storeExchange({ ...exchange, ledger: usageOf("provider") });
  await variant(":keyed", () =>
    messages.storeExchange({
      ...exchange,
      idempotency: { key: sample.idempotencyKey, claim: "00000000-0000-4000-8000-000000000000" },
      ledger: usageOf("semantic_cache"),
    }),
  );
  await variant(":30d", () => analytics.dashboard(org, 30));
  await usage.month(org);
  await usage.reserve(org, 1000).catch(() => undefined);
  await new Maintenance(database, 60_000, log).runOnce();

  // One entry per distinct statement: a name seen twice (e.g. the two statements of a transaction)
  // gets a number.
  const seen = new Map<string, number>();
  return recorded.map((query) => {
    const count = (seen.get(query.name) ?? 0) + 1;
    seen.set(query.name, count);
    return count === 1 ? query : { ...query, name: `${query.name}#${count}` };
  });
}

/**
 * Samples from the data set: `count` random conversations (so busy organizations come up more), or the
 * conversations given by id.
 */
export async function querySamples(
  pool: pg.Pool | pg.Client,
  which: number | string[],
): Promise<QuerySample[]> {
  const conversations = await pool.query<{
    id: string;
    organization_id: string;
    user_id: string;
    chatbot_id: string;
    email: string;
    length: number;
  }>(
    `SELECT c.id, c.organization_id, c.user_id, c.chatbot_id, u.email,
            (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS length
     FROM (SELECT * FROM conversations ${typeof which === "number" ? "ORDER BY random() LIMIT $1" : "WHERE id = ANY($1)"}) c
     JOIN users u ON u.id = c.user_id`,
    [which],
  );
  const samples: QuerySample[] = [];
  for (const row of conversations.rows) {
    const one = async <T extends pg.QueryResultRow>(sql: string, params: unknown[]) =>
      (await pool.query<T>(sql, params)).rows[0];
    // This pool parses timestamps as Dates (pg's default); a cursor holds the API's ISO text.
    const cursorOf = (row?: { created_at: Date; id: string }): Cursor => ({
      createdAt: (row?.created_at ?? new Date()).toISOString(),
      id: row?.id ?? "00000000-0000-4000-8000-000000000000",
    });
    const deep = await one<{ created_at: Date; id: string }>(
      `SELECT created_at, id FROM messages WHERE conversation_id = $1
       ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
      [row.id, Math.floor(row.length / 2)],
    );
    const newestConversation = await one<{ created_at: Date; id: string }>(
      `SELECT created_at, id FROM conversations WHERE organization_id = $1
       ORDER BY created_at DESC, id DESC OFFSET 19 LIMIT 1`,
      [row.organization_id],
    );
    const newestChatbot = await one<{ created_at: Date; id: string }>(
      `SELECT created_at, id FROM chatbots WHERE organization_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
      [row.organization_id],
    );
    const key = await one<{ key: string }>("SELECT key FROM idempotency_keys WHERE user_id = $1 LIMIT 1", [
      row.user_id,
    ]);
    samples.push({
      organizationId: row.organization_id,
      userId: row.user_id,
      email: row.email,
      chatbotId: row.chatbot_id,
      conversationId: row.id,
      deepCursor: cursorOf(deep),
      conversationCursor: cursorOf(newestConversation),
      chatbotCursor: cursorOf(newestChatbot),
      idempotencyKey: key?.key ?? "none",
    });
  }
  return samples;
}

/** The longest conversation of the busiest organization: the worst case for history pages. */
export async function worstCaseSample(pool: pg.Pool | pg.Client): Promise<QuerySample> {
  const busiest = await pool.query<{ id: string }>(
    `SELECT c.id FROM conversations c
     WHERE c.organization_id = (SELECT organization_id FROM conversations GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
     ORDER BY (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) DESC LIMIT 1`,
  );
  const [sample] = await querySamples(pool, [busiest.rows[0]!.id]);
  return sample!;
}

export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

/** The sequential scans of big tables anywhere in a plan (partitions and subplans included). */
export function bigTableSeqScans(plan: PlanNode): string[] {
  const found: string[] = [];
  const walk = (node: PlanNode) => {
    if (node["Node Type"] === "Seq Scan" && bigTables.test(node["Relation Name"] ?? ""))
      found.push(node["Relation Name"]!);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan);
  return found;
}

/** EXPLAIN (ANALYZE, FORMAT JSON) of a query; writes are rolled back. */
export async function explain(
  client: pg.ClientBase,
  query: HotQuery,
): Promise<{ plan: PlanNode; ms: number }> {
  await client.query("BEGIN");
  try {
    const result = await client.query<{ "QUERY PLAN": Array<{ Plan: PlanNode; "Execution Time": number }> }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`,
      query.params,
    );
    const [top] = result.rows[0]!["QUERY PLAN"];
    return { plan: top!.Plan, ms: top!["Execution Time"] };
  } finally {
    await client.query("ROLLBACK");
  }
}
