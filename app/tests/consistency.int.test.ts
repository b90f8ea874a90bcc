/**
 * Keyset pagination under concurrent writes, and read-your-writes while reads normally go to the
 * replica (shown by pausing the replay of a replica of this file's own: an unpinned read is stale, a
 * pinned one is not), and a cached page dropped while its message is being written.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventually } from "../../tests/support/app/faults";
import {
  api,
  createChatbot,
  createConversation,
  type PrivateCluster,
  registerTenant,
  startClusterApp,
  type Tenant,
  type TestApp,
} from "../../tests/support/app/harness";
import { ConversationStore } from "../src/data/conversations";
import { Database } from "../src/db/database";
import { keys } from "../src/services/keys";
import { createMetrics, type Metrics } from "../src/telemetry/metrics";

let cluster: PrivateCluster;
let app: TestApp;
let close: () => Promise<void>;
let tenant: Tenant;
let primary: pg.Pool;
let replica: pg.Pool;
let redis: Redis;

beforeAll(async () => {
  // Replay is paused below: on a cluster of this file's own, never the shared replica.
  ({ cluster, app, close } = await startClusterApp("consistency", (config) => ({
    ...config,
    // Keep the replica in use while its replay is paused below.
    replica: { maxLagSeconds: 120, checkIntervalMs: 200 },
    readYourWritesMs: 1_500,
    // A write is held on a row lock below for longer than the default query timeout (1 s).
    db: { ...config.db, queryTimeoutMs: 10_000 },
  })));
  redis = new Redis(app.config.redisUrl);
  tenant = await registerTenant(app.url);
  primary = new pg.Pool({ connectionString: app.database.primaryUrl, max: 2 });
  replica = new pg.Pool({ connectionString: app.database.replicaUrl, max: 2 });
});

afterAll(async () => {
  redis?.disconnect();
  await Promise.all([primary?.end(), replica?.end()]);
  await close?.();
});

/** A Database of this file's own on its cluster (started and closed by the test), replica lag bound as given. */
const clusterDatabase = ({
  maxLagSeconds,
  metrics = createMetrics({ version: "t", commit: "t" }),
}: {
  maxLagSeconds: number;
  metrics?: Metrics;
}) =>
  new Database({
    primaryUrl: cluster.primaryUrl,
    replicaUrls: [cluster.replicaUrl],
    primaryMax: 2,
    replicaMax: 2,
    maxLagSeconds,
    checkIntervalMs: 100,
    metrics,
    log: pino({ level: "silent" }),
  });

const post = (conversationId: string, content: string, token = tenant.token) =>
  api(app.url, "POST", `/api/conversations/${conversationId}/messages`, { token, body: { content } });

const poolCount = async (pool: "primary" | "replica", operation: string) => {
  const text = String((await api(app.url, "GET", "/metrics")).body);
  const match = new RegExp(
    `parley_db_query_duration_seconds_count\\{pool="${pool}",operation="${operation}"\\} (\\d+)`,
  ).exec(text);
  return Number(match?.[1] ?? 0);
};

describe("keyset pagination", () => {
  it("walks every message page once, newest first, while new messages arrive", async () => {
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    // Same-millisecond timestamps are likely here: the id tie-break must keep the order total.
    await primary.query(
      `INSERT INTO messages (conversation_id, organization_id, user_id, role, content, created_at)
       SELECT $1, $2, $3, 'user', 'seeded ' || n, date_trunc('milliseconds', now()) - (n / 3) * interval '1 millisecond'
       FROM generate_series(1, 45) n`,
      [conversation.id, tenant.organizationId, tenant.userId],
    );
    const before = await primary.query<{ id: string }>(
      "SELECT id FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC",
      [conversation.id],
    );
    await app.database.replicated();

    const seen: Array<{ id: string; created_at: string }> = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=7&cursor=${cursor}` : "?limit=7";
      const page = await api(app.url, "GET", `/api/conversations/${conversation.id}/messages${query}`, {
        token: tenant.token,
      });
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.next_cursor;
      pages += 1;
      // A new exchange lands between page reads.
      if (pages <= 3) expect((await post(conversation.id, `arrived during page ${pages}`)).status).toBe(201);
    } while (cursor);

    const ids = seen.map((message) => message.id);
    expect(new Set(ids).size).toBe(ids.length);
    const walkedOriginals = ids.filter((id) => before.rows.some((row) => row.id === id));
    expect(walkedOriginals).toEqual(before.rows.map((row) => row.id));
    for (let index = 1; index < seen.length; index++)
      expect(Date.parse(seen[index - 1]!.created_at)).toBeGreaterThanOrEqual(
        Date.parse(seen[index]!.created_at),
      );
  });

  it("walks chatbot and conversation lists without duplicates or gaps", async () => {
    const owner = await registerTenant(app.url);
    const bots = [];
    for (let index = 0; index < 5; index++)
      bots.push(await createChatbot(app.url, owner.token, `bot ${index}`));
    const conversations = [];
    for (let index = 0; index < 7; index++)
      conversations.push(await createConversation(app.url, owner.token, bots[0]!.id, `c${index}`));
    const walk = async (path: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
        const page = await api(app.url, "GET", `${path}${query}`, { token: owner.token });
        ids.push(...page.body.items.map((item: { id: string }) => item.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      return ids;
    };
    expect(await walk("/api/chatbots")).toEqual(bots.map((bot) => bot.id).reverse());
    expect(await walk("/api/conversations")).toEqual(conversations.map((c) => c.id).reverse());
  });
});

describe("list pages in one statement (app/src/data/keyset.ts, OrganizationPages)", () => {
  it("reads the pages asked for in one turn with one statement per pool, each request its own page", async () => {
    const owner = await registerTenant(app.url);
    const other = await registerTenant(app.url);
    const empty = await registerTenant(app.url);
    const bot = await createChatbot(app.url, owner.token, "lists");
    const otherBot = await createChatbot(app.url, other.token, "other lists");
    for (let index = 0; index < 6; index++)
      await createConversation(app.url, owner.token, bot.id, `o${index}`);
    for (let index = 0; index < 3; index++)
      await createConversation(app.url, other.token, otherBot.id, `x${index}`);
    await cluster.replicated();
    const metrics = createMetrics({ version: "t", commit: "t" });
    const db = clusterDatabase({ maxLagSeconds: 120, metrics });
    const statements = async (pool: string) => {
      const text = await metrics.registry.getSingleMetricAsString("parley_db_query_duration_seconds");
      const line = new RegExp(`_count\\{pool="${pool}",operation="conversations.list"\\} (\\d+)`).exec(text);
      return Number(line?.[1] ?? 0);
    };
    try {
      await db.start();
      const store = new ConversationStore(db);
      const newest = await store.list(owner.organizationId, undefined, 2, false);
      const cursor = { createdAt: newest[1]!.created_at, id: newest[1]!.id };
      const asked = [
        () => store.list(owner.organizationId, undefined, 2, false),
        () => store.list(owner.organizationId, cursor, 3, false),
        () => store.list(other.organizationId, undefined, 5, false),
        () => store.list(owner.organizationId, cursor, 10, true),
        () => store.list(empty.organizationId, undefined, 1, false),
      ];
      const oneByOne = [];
      for (const ask of asked) oneByOne.push(await ask());
      const [replicaBefore, primaryBefore] = [await statements("replica"), await statements("primary")];
      const reads = vi.spyOn(db, "read");
      // Each page asked twice in the turn: the statements read each distinct page once.
      const together = await Promise.all([...asked, ...asked].map((ask) => ask()));
      expect(together).toEqual([...oneByOne, ...oneByOne]);
      expect(together[asked.length]).toBe(together[0]);
      expect(reads.mock.calls.map(([, , [organizations]]) => (organizations as string[]).length)).toEqual([
        4, 1,
      ]);
      reads.mockRestore();
      expect([await statements("replica"), await statements("primary")]).toEqual([
        replicaBefore + 1,
        primaryBefore + 1,
      ]);
      // Limit + 1 rows, newest first, before the cursor, the organization's only.
      expect(oneByOne.map((page) => page.length)).toEqual([3, 4, 3, 4, 0]);
      expect(oneByOne[1]!.map((row) => row.title)).toEqual(["o3", "o2", "o1", "o0"]);
      expect(oneByOne[3]).toEqual(oneByOne[1]);
      expect(oneByOne[2]!.map((row) => row.title)).toEqual(["x2", "x1", "x0"]);
    } finally {
      await db.close();
    }
  });
});

describe("the conversation a message is for (app/src/services/conversation-chatbots.ts)", () => {
  it("looks up no conversation this process created, and one created elsewhere once", async () => {
    const bot = await createChatbot(app.url, tenant.token);
    const createdHere = await createConversation(app.url, tenant.token, bot.id);
    // Created by another pod: a row this process never saw being created.
    const createdElsewhere = await primary.query<{ id: string }>(
      `INSERT INTO conversations (organization_id, chatbot_id, user_id, title)
       VALUES ($1, $2, $3, 'elsewhere') RETURNING id`,
      [tenant.organizationId, bot.id, tenant.userId],
    );
    const elsewhere = createdElsewhere.rows[0]!.id;
    const lookUps = () => poolCount("primary", "conversations.get");
    const before = await lookUps();

    expect((await post(createdHere.id, "What is Parley?")).status).toBe(201);
    expect(await lookUps()).toBe(before);
    expect((await post(elsewhere, "What is Parley?")).status).toBe(201);
    expect((await post(elsewhere, "What are your opening hours?")).status).toBe(201);
    expect(await lookUps()).toBe(before + 1);
  });
});

describe("read/write split", () => {
  it("reads from the replica normally and from the primary right after a write", async () => {
    const bot = await createChatbot(app.url, tenant.token);
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    await new Promise((resolve) => setTimeout(resolve, app.config.readYourWritesMs + 100));
    const path = `/api/conversations/${conversation.id}/messages?limit=3`;

    const replicaBefore = await poolCount("replica", "messages.page");
    await api(app.url, "GET", path, { token: tenant.token });
    expect(await poolCount("replica", "messages.page")).toBe(replicaBefore + 1);

    await replica.query("SELECT pg_wal_replay_pause()");
    try {
      // Written behind the app's back: no pin, so the app reads the (paused) replica and misses it.
      await primary.query(
        `INSERT INTO messages (conversation_id, organization_id, user_id, role, content)
         VALUES ($1, $2, $3, 'user', 'written directly')`,
        [conversation.id, tenant.organizationId, tenant.userId],
      );
      const unpinned = await api(app.url, "GET", `/api/conversations/${conversation.id}/messages?limit=4`, {
        token: tenant.token,
      });
      expect(unpinned.body.items.map((m: { content: string }) => m.content)).not.toContain(
        "written directly",
      );

      // Written through the app: the writer's next read sees it although the replica is behind.
      const posted = await post(conversation.id, "What are your opening hours?");
      expect(posted.status).toBe(201);
      const primaryBefore = await poolCount("primary", "messages.page");
      const fresh = await api(app.url, "GET", path, { token: tenant.token });
      expect(fresh.body.items.map((m: { id: string }) => m.id)).toEqual(
        expect.arrayContaining([posted.body.user_message.id, posted.body.assistant_message.id]),
      );
      expect(await poolCount("primary", "messages.page")).toBe(primaryBefore + 1);
      const chatbot = await api(app.url, "GET", `/api/chatbots/${bot.id}`, { token: tenant.token });
      expect(chatbot.status).toBe(200);
    } finally {
      await replica.query("SELECT pg_wal_replay_resume()");
    }
  });

  it("sees a chatbot and a conversation right after creating them", async () => {
    await replica.query("SELECT pg_wal_replay_pause()");
    try {
      const bot = await createChatbot(app.url, tenant.token, "fresh bot");
      expect((await api(app.url, "GET", `/api/chatbots/${bot.id}`, { token: tenant.token })).status).toBe(
        200,
      );
      const list = await api(app.url, "GET", "/api/chatbots?limit=1", { token: tenant.token });
      expect(list.body.items[0].id).toBe(bot.id);
      const conversation = await createConversation(app.url, tenant.token, bot.id);
      const conversations = await api(app.url, "GET", "/api/conversations?limit=1", { token: tenant.token });
      expect(conversations.body.items[0].id).toBe(conversation.id);
      const messages = await api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, {
        token: tenant.token,
      });
      expect(messages).toMatchObject({ status: 200, body: { items: [], next_cursor: null } });
    } finally {
      await replica.query("SELECT pg_wal_replay_resume()");
    }
  });

  it("keeps serving an organization's chatbot from the cache while its users create conversations", async () => {
    const bot = await createChatbot(app.url, tenant.token, "busy bot");
    await sleep(app.config.readYourWritesMs + 100);
    const read = () => api(app.url, "GET", `/api/chatbots/${bot.id}`, { token: tenant.token });
    expect((await read()).status).toBe(200);
    const fromPrimary = await poolCount("primary", "chatbots.get");
    for (let index = 0; index < 3; index++) {
      await createConversation(app.url, tenant.token, bot.id, `busy ${index}`);
      expect((await read()).body.id).toBe(bot.id);
    }
    // Creating a conversation changes no chatbot: the reads after it are cache hits, none from the primary.
    expect(await poolCount("primary", "chatbots.get")).toBe(fromPrimary);
  });

  it("lists a new chatbot after the read-your-writes window, though the first page was cached before it", async () => {
    const owner = await registerTenant(app.url);
    const first = await createChatbot(app.url, owner.token, "first bot");
    await sleep(app.config.readYourWritesMs + 100);
    const list = async () =>
      (await api(app.url, "GET", "/api/chatbots", { token: owner.token })).body.items.map(
        (item: { id: string }) => item.id,
      );
    expect(await list()).toEqual([first.id]);
    const fromReplica = await poolCount("replica", "chatbots.list");
    expect(await list()).toEqual([first.id]);
    // The second read was the cached page.
    expect(await poolCount("replica", "chatbots.list")).toBe(fromReplica);
    const second = await createChatbot(app.url, owner.token, "second bot");
    await sleep(app.config.readYourWritesMs + 100);
    // Past the pin, reads use the cache again: creating the chatbot dropped the cached page.
    expect(await list()).toEqual([second.id, first.id]);
  });

  it("drops a conversation's cached page while its message is written, stores nothing read meanwhile, and pins it from the write's end", async () => {
    const bot = await createChatbot(app.url, tenant.token, "written bot");
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    await post(conversation.id, "What are your opening hours?");
    await sleep(app.config.readYourWritesMs + 100);
    const page = async () =>
      (await api(app.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token }))
        .body.items as unknown[];
    const cached = () => redis.exists(keys.messages(tenant.organizationId, conversation.id));
    expect(await page()).toHaveLength(2);
    expect(await cached()).toBe(1);
    // The exchange's statement locks the conversation's row: holding that lock holds the write.
    const holder = await primary.connect();
    let written: ReturnType<typeof post> | undefined;
    try {
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE", [conversation.id]);
      written = post(conversation.id, "Which plans do you offer?");
      await eventually(async () => (await cached()) === 0, "the cached page dropped while the write waits");
      expect(await redis.exists(keys.conversationPin(conversation.id))).toBe(1);
      // Read from the primary, before the write commits, and not stored: the old page cannot come back.
      expect(await page()).toHaveLength(2);
      expect(await cached()).toBe(0);
      // A slow write: most of the window set when it began passes before it commits.
      await sleep(app.config.readYourWritesMs * 0.6);
    } finally {
      await holder.query("COMMIT");
      holder.release();
    }
    expect((await written!).status).toBe(201);
    // The pin is set again once the write is done: a whole window from then.
    await eventually(
      async () =>
        (await redis.pttl(keys.conversationPin(conversation.id))) > app.config.readYourWritesMs * 0.8,
      "the pin renewed after the write",
      2_000,
    );
    expect(await page()).toHaveLength(4);
    await sleep(app.config.readYourWritesMs + 100);
    expect(await page()).toHaveLength(4);
    expect(await cached()).toBe(1);
  });

  it("answers a cached chatbot and messages page with the bytes and headers of the read that filled the cache", async () => {
    const bot = await createChatbot(app.url, tenant.token, "byte-identical bot");
    const conversation = await createConversation(app.url, tenant.token, bot.id);
    await post(conversation.id, "What are your opening hours?");
    await sleep(app.config.readYourWritesMs + 100);
    const raw = async (path: string) => {
      const response = await fetch(`${app.url}${path}`, {
        headers: { authorization: `Bearer ${tenant.token}` },
      });
      return {
        status: response.status,
        type: response.headers.get("content-type"),
        text: await response.text(),
      };
    };
    const hits = async (cache: string) => {
      const text = String((await api(app.url, "GET", "/metrics")).body);
      return Number(
        new RegExp(`parley_cache_requests_total\\{cache="${cache}",result="hit"\\} (\\d+)`).exec(text)?.[1] ??
          0,
      );
    };
    for (const [cache, path] of [
      ["chatbot", `/api/chatbots/${bot.id}`],
      ["chatbots", "/api/chatbots?limit=3"],
      ["messages", `/api/conversations/${conversation.id}/messages`],
    ] as const) {
      const filled = await raw(path);
      expect(filled).toMatchObject({ status: 200, type: "application/json; charset=utf-8" });
      const hitsBefore = await hits(cache);
      // The hit is the stored text sent on as it is (Cache.readJson): still one JSON document, equal to the first.
      expect(await raw(path)).toEqual(filled);
      expect(await hits(cache)).toBe(hitsBefore + 1);
      const body = JSON.parse(filled.text);
      if (cache === "chatbot") expect(body.id).toBe(bot.id);
      // The newest chatbot heads the list.
      else if (cache === "chatbots") expect(body.items[0].id).toBe(bot.id);
      else expect(body).toMatchObject({ next_cursor: null });
    }
  });

  it("leaves a replica that lags past the bound, then returns to it", async () => {
    const db = clusterDatabase({ maxLagSeconds: 0.5 });
    try {
      await primary.query("CREATE TABLE lag_probe (at timestamptz)");
      await cluster.replicated();
      await db.start();
      expect(db.replicaInUse).toBe(true);
      await replica.query("SELECT pg_wal_replay_pause()");
      try {
        for (let attempt = 0; attempt < 40 && db.replicaInUse; attempt++) {
          await primary.query("INSERT INTO lag_probe VALUES (now())");
          await sleep(100);
        }
        expect(db.replicaInUse).toBe(false);
        const read = await db.read<{ n: number }>("probe", "SELECT count(*)::int AS n FROM lag_probe", []);
        expect(read.rows[0]!.n).toBeGreaterThan(0);
      } finally {
        await replica.query("SELECT pg_wal_replay_resume()");
      }
      for (let attempt = 0; attempt < 40 && !db.replicaInUse; attempt++) await sleep(100);
      expect(db.replicaInUse).toBe(true);
    } finally {
      await db.close();
    }
  });

  it("exports the measured replica lag", async () => {
    const text = String((await api(app.url, "GET", "/metrics")).body);
    const lag = /parley_db_replica_lag_seconds\{replica="[^"]+"\} ([\d.e+-]+)/.exec(text);
    expect(Number(lag?.[1])).toBeGreaterThanOrEqual(0);
  });
});
