/**
 * Query plans at load size: with 1M messages in 10k conversations (npm run seed:load's data set, in a
 * database of this file's own), EXPLAIN (ANALYZE, FORMAT JSON) of every hot query the app runs
 * (app/bench/hot-queries.ts) reads the big tables — messages and its partitions, conversations —
 * through indexes only, for the worst case (the longest conversation of the busiest organization)
 * and for random samples.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, platform } from "../../tests/support/platform";
import {
  bigTableSeqScans,
  explain,
  type HotQuery,
  hotQueries,
  querySamples,
  worstCaseSample,
} from "../bench/hot-queries";
import { seedLoad } from "../bench/seed-load";

let client: pg.Client;
let databaseName: string;
let seedSeconds = 0;

beforeAll(async () => {
  const database = await createTestDatabase("plans");
  databaseName = database.name;
  const seeded = await seedLoad(database.primaryUrl, {
    messages: 1_000_000,
    conversations: 10_000,
    months: 6,
  });
  seedSeconds = seeded.seconds;
  client = new pg.Client({ connectionString: database.primaryUrl });
  await client.connect();
  // Seeding takes tens of seconds on a quiet machine; this bounds a stuck run, it is not a speed check.
}, 600_000);

afterAll(async () => {
  await client?.end();
  if (!databaseName) return;
  const admin = new pg.Client({ connectionString: platform().postgres.primaryUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).finally(() => admin.end());
});

const expectIndexPaths = async (queries: HotQuery[]) => {
  for (const query of queries) {
    const { plan } = await explain(client, query);
    expect(bigTableSeqScans(plan), `${query.name} scans sequentially:\n${query.sql}`).toEqual([]);
  }
};

describe("hot queries on 1M messages", () => {
  it("has the load data set: 1M messages over several partitions, 10k conversations", async () => {
    const counts = await client.query<{ messages: number; conversations: number; partitions: number }>(
      `SELECT (SELECT count(*) FROM messages)::int AS messages,
              (SELECT count(*) FROM conversations)::int AS conversations,
              (SELECT count(DISTINCT tableoid) FROM messages)::int AS partitions`,
    );
    expect(counts.rows[0]).toMatchObject({ messages: 1_000_000, conversations: 10_000 });
    expect(counts.rows[0]!.partitions).toBeGreaterThanOrEqual(6);
    console.info(`seed:load of 1M messages took ${seedSeconds.toFixed(1)} s`);
  });

  it("captures every hot query of the app", async () => {
    const names = (await hotQueries(await worstCaseSample(client))).map((query) => query.name);
    expect(names).toEqual([
      "users.by_email",
      "chatbots.get",
      "chatbots.list:first",
      "chatbots.list:next",
      "conversations.get",
      "conversations.list:first",
      "conversations.list:next",
      "conversations.count_active",
      "conversations.create",
      "messages.page:first",
      "messages.page:deep",
      "messages.recent",
      "idempotency.get",
      "idempotency.claim",
      "messages.store_exchange",
      "messages.store_exchange:keyed",
      "analytics.daily:30d",
      "analytics.totals:30d",
      "ai.usage.month",
      "ai.budget.reserve",
      "maintenance.partitions",
      "maintenance.expire_idempotency_keys",
    ]);
  });

  it("reads big tables through indexes only, for the longest conversation of the busiest organization", async () => {
    await expectIndexPaths(await hotQueries(await worstCaseSample(client)));
  });

  it("reads big tables through indexes only, for random conversations", async () => {
    for (const sample of await querySamples(client, 3)) await expectIndexPaths(await hotQueries(sample));
  });

  it("sees a sequential scan of a partition when there is one (the check can fail)", async () => {
    const { plan } = await explain(client, {
      name: "unindexed",
      sql: "SELECT count(*) FROM messages WHERE content LIKE $1",
      params: ["%password%"],
      writes: false,
    });
    expect(bigTableSeqScans(plan).length).toBeGreaterThanOrEqual(6);
    expect(bigTableSeqScans(plan).every((name) => /^messages_\d{4}_\d{2}$/.test(name))).toBe(true);
  });
});
