/**
 * Redis memory under deep pagination: 500 distinct cursors into one long conversation add less than
 * 5 MB to the cache (each deeper page is read from the database, not stored), while the newest page —
 * the one every client opens — stays cached and served from Redis.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  api,
  createChatbot,
  createConversation,
  registerTenant,
  startTestApp,
  type TestApp,
} from "../../tests/support/app/harness";
import { encodeCursor } from "../src/domain/cursor";
import { keys } from "../src/services/keys";

const budgetBytes = 5 * 1024 * 1024;
const cursorCount = 500;

let app: TestApp;
let redis: Redis;

beforeAll(async () => {
  // Short read-your-writes pins: the conversation created below is cacheable a moment later.
  app = await startTestApp("cursors", (config) => ({ ...config, readYourWritesMs: 200 }));
  redis = new Redis(app.config.redisUrl);
});
afterAll(async () => {
  redis?.disconnect();
  await app?.close();
});

/** Bytes held by every key of this test's Redis logical database (exact: every hash field sampled). */
async function cacheBytes(): Promise<number> {
  let total = 0;
  for await (const batch of redis.scanStream({ count: 1000 }) as AsyncIterable<string[]>)
    for (const key of batch) total += Number(await redis.memory("USAGE", key, "SAMPLES", 0)) || 0;
  return total;
}

it(`${cursorCount} distinct cursors add less than 5 MB to Redis; the newest page stays cached`, async () => {
  const tenant = await registerTenant(app.url);
  const chatbot = await createChatbot(app.url, tenant.token);
  const conversation = await createConversation(app.url, tenant.token, chatbot.id);
  // 700 messages of ~1 KB, a minute apart: pages of 100 from 500 different starting points.
  const db = new pg.Client({ connectionString: app.database.primaryUrl });
  await db.connect();
  const inserted = await db.query<{ id: string; created_at: Date }>(
    `INSERT INTO messages (conversation_id, organization_id, user_id, role, content, created_at)
     SELECT $1, $2, $3, CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
            n || ' ' || repeat(md5(n::text), 32),
            date_trunc('milliseconds', now()) - make_interval(mins => n)
     FROM generate_series(1, 700) n
     RETURNING id, created_at`,
    [conversation.id, tenant.organizationId, tenant.userId],
  );
  await db.end();
  await app.database.replicated();
  await sleep(300); // the pins of the conversation's creation expire
  const path = `/api/conversations/${conversation.id}/messages?limit=100`;
  const first = await api(app.url, "GET", path, { token: tenant.token });
  expect(first.status).toBe(200);
  expect(first.body.items).toHaveLength(100);
  const messagesKey = keys.messages(tenant.organizationId, conversation.id);
  for (let attempt = 0; attempt < 100 && !(await redis.hexists(messagesKey, "first:100")); attempt++)
    await sleep(20);
  expect(await redis.hexists(messagesKey, "first:100")).toBe(1);
  const before = await cacheBytes();

  const cursors = inserted.rows
    .slice(0, cursorCount)
    .map((row) => encodeCursor({ createdAt: row.created_at.toISOString(), id: row.id }));
  expect(new Set(cursors).size).toBe(cursorCount);
  for (let i = 0; i < cursors.length; i += 10) {
    const pages = await Promise.all(
      cursors
        .slice(i, i + 10)
        .map((cursor) => api(app.url, "GET", `${path}&cursor=${cursor}`, { token: tenant.token })),
    );
    for (const page of pages) {
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeGreaterThan(0);
    }
  }
  await sleep(300); // cache writes are fire-and-forget: let any land before measuring
  const added = (await cacheBytes()) - before;
  console.info(`${cursorCount} cursors added ${added} bytes to Redis`);
  expect(added, `Redis grew by ${(added / 1024 / 1024).toFixed(2)} MB`).toBeLessThan(budgetBytes);

  // The newest page is still served from the cache: a hit in the app's own counters.
  const hits = async () => {
    const text = await (await fetch(app.metricsUrl)).text();
    return Number(/parley_cache_requests_total\{cache="messages",result="hit"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  const hitsBefore = await hits();
  const again = await api(app.url, "GET", path, { token: tenant.token });
  expect(again.body).toEqual(first.body);
  expect(await hits()).toBe(hitsBefore + 1);
  // 500 page reads on a busy machine: a bound for a stuck run, not a speed check.
}, 180_000);
