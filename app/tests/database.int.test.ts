/**
 * The schema on real PostgreSQL: idempotent migrations with the indexes and monthly partitions, and
 * one maintenance runner at a time across processes (advisory lock), primary statements prepared once
 * per connection.
 */
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/platform";
import { Database, type DatabaseOptions } from "../src/db/database";
import { Maintenance } from "../src/db/maintenance";
import { migrate } from "../src/db/migrate";
import { migrations } from "../src/db/migrations";
import { ensureMessagePartitions, partitionsFor } from "../src/db/partitions";
import { createMetrics } from "../src/telemetry/metrics";

const log = pino({ level: "silent" });
let database: TestDatabase;
let admin: pg.Pool;

beforeAll(async () => {
  database = await createTestDatabase("schema");
  admin = new pg.Pool({ connectionString: database.primaryUrl, max: 3 });
});
afterAll(() => admin?.end());

const openDatabase = (options: Partial<DatabaseOptions> = {}) =>
  new Database({
    primaryUrl: database.primaryUrl,
    replicaUrls: [database.replicaUrl],
    primaryMax: 3,
    replicaMax: 3,
    maxLagSeconds: 5,
    checkIntervalMs: 100,
    metrics: createMetrics({ version: "t", commit: "t" }),
    log,
    ...options,
  });

describe("migrations", () => {
  it("apply once, concurrently or repeated, with indexes and partitions", async () => {
    await Promise.all([migrate(database.primaryUrl), migrate(database.primaryUrl)]);
    await migrate(database.primaryUrl);
    const versions = await admin.query("SELECT version FROM schema_migrations ORDER BY version");
    expect(versions.rows.map((row) => row.version)).toEqual(migrations.map((migration) => migration.version));

    const indexes = await admin.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
    );
    const definitions = indexes.rows.map((row) => row.indexdef).join("\n");
    expect(definitions).toContain(
      "ON ONLY public.messages USING btree (conversation_id, created_at DESC, id DESC)",
    );
    expect(definitions).toContain("ON public.conversations USING btree (chatbot_id, created_at DESC)");
    expect(definitions).toContain("ON public.users USING btree (lower(email))");
    expect(definitions).toContain(
      "ON public.chatbots USING btree (organization_id, created_at DESC, id DESC)",
    );
    expect(definitions).toContain("UNIQUE INDEX analytics_daily_key ON public.analytics_daily");

    const partitions = await admin.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'messages'::regclass ORDER BY 1`,
    );
    expect(partitions.rows.map((row) => row.name)).toEqual(partitionsFor(new Date(), 3).map((p) => p.name));
    const kind = await admin.query("SELECT relkind FROM pg_class WHERE relname = 'messages'");
    expect(kind.rows[0].relkind).toBe("p");
  });
});

describe("maintenance", () => {
  it("runs in one process at a time and recomputes the daily analytics", async () => {
    const [first, second] = [openDatabase(), openDatabase()];
    try {
      const runners = [new Maintenance(first, 60_000, log), new Maintenance(second, 60_000, log)];
      // Hold the lock as another pod would: both skip.
      const holder = await admin.connect();
      await holder.query("SELECT pg_advisory_lock(x'616e616c7974'::bigint)");
      expect(await Promise.all(runners.map((runner) => runner.runOnce()))).toEqual([false, false]);
      await holder.query("SELECT pg_advisory_unlock(x'616e616c7974'::bigint)");
      holder.release();
      const results = await Promise.all(runners.map((runner) => runner.runOnce()));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      const { rows } = await admin.query<{ id: string }>(
        "INSERT INTO organizations (name) VALUES ('maintained') RETURNING id",
      );
      await insertMessages(admin, rows[0]!.id, [new Date()]);
      expect(await runners[0]!.runOnce()).toBe(true);
      const daily = await admin.query(
        "SELECT messages::int FROM analytics_daily WHERE organization_id = $1",
        [rows[0]!.id],
      );
      expect(daily.rows).toEqual([{ messages: 1 }]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

/** Messages at `times` in a new conversation of `organizationId` (with its own user and chatbot). */
async function insertMessages(
  pool: pg.Pool | pg.PoolClient,
  organizationId: string,
  times: Date[],
): Promise<string> {
  const one = async (sql: string, params: unknown[]) => (await pool.query(sql, params)).rows[0].id as string;
  const userId = await one(
    "INSERT INTO users (organization_id, email, password_hash) VALUES ($1, gen_random_uuid() || '@schema.test', 'x') RETURNING id",
    [organizationId],
  );
  const chatbotId = await one(
    "INSERT INTO chatbots (organization_id, name) VALUES ($1, 'bot') RETURNING id",
    [organizationId],
  );
  const conversationId = await one(
    "INSERT INTO conversations (organization_id, chatbot_id, user_id) VALUES ($1, $2, $3) RETURNING id",
    [organizationId, chatbotId, userId],
  );
  await pool.query(
    `INSERT INTO messages (conversation_id, organization_id, user_id, role, content, created_at)
     SELECT $1, $2, $3, 'user', 'hello', t FROM unnest($4::timestamptz[]) t`,
    [conversationId, organizationId, userId, times],
  );
  return conversationId;
}

describe("daily analytics (migration 10)", () => {
  it("recomputes only the days from the day before the latest one held, reading only their partitions", async () => {
    const own = await createTestDatabase("analytics");
    const pool = new pg.Pool({ connectionString: own.primaryUrl, max: 2 });
    const utcDay = (date: Date, offset = 0) =>
      new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + offset));
    const now = new Date();
    const today = utcDay(now);
    const yesterday = utcDay(now, -1);
    // The 15th of last month: in last month's partition, older than yesterday whatever today is.
    const older = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
    const iso = (date: Date) => date.toISOString().slice(0, 10);
    const daily = async () =>
      (
        await pool.query(
          `SELECT to_char(day, 'YYYY-MM-DD') AS day, conversations::int, messages::int, unique_users::int
           FROM analytics_daily ORDER BY day`,
        )
      ).rows;
    try {
      await migrate(own.primaryUrl);
      const { rows } = await pool.query<{ id: string }>(
        "INSERT INTO organizations (name) VALUES ('analytics') RETURNING id",
      );
      const organizationId = rows[0]!.id;
      const atOlder = (seconds: number) => new Date(older.getTime() + seconds * 1000);
      const atToday = (seconds: number) => new Date(today.getTime() + seconds * 1000);
      await insertMessages(pool, organizationId, [atOlder(1), atOlder(2), atOlder(3)]);
      const second = await insertMessages(pool, organizationId, [atToday(1), atToday(2)]);
      // Nothing held yet: every day.
      await pool.query("SELECT public.parley_refresh_analytics()");
      expect(await daily()).toEqual([
        { day: iso(older), conversations: 1, messages: 3, unique_users: 1 },
        { day: iso(today), conversations: 1, messages: 2, unique_users: 1 },
      ]);

      // A message today and one written late into the older day (the app never does: it stamps
      // messages with the database's clock); one round, with the partitions it read counted.
      const client = await pool.connect();
      let read: string[];
      try {
        await client.query("BEGIN");
        await insertMessages(client, organizationId, [atToday(3)]);
        await client.query(
          `INSERT INTO messages (conversation_id, organization_id, role, content, created_at)
           VALUES ($1, $2, 'assistant', 'late', $3)`,
          [second, organizationId, atOlder(4)],
        );
        // The transaction's counts, which also hold earlier statements' not yet reported (PostgreSQL
        // sends a backend's counts at most once a second): the round's reads are the difference.
        const scans = async () =>
          new Map(
            (
              await client.query<{ name: string; scans: string }>(
                `SELECT relname AS name, seq_scan + coalesce(idx_scan, 0) AS scans FROM pg_stat_xact_user_tables
                 WHERE relname LIKE 'messages\\_%'`,
              )
            ).rows.map((row) => [row.name, Number(row.scans)]),
          );
        const before = await scans();
        await client.query("SELECT public.parley_refresh_analytics()");
        const after = await scans();
        read = [...after].filter(([name, count]) => count > (before.get(name) ?? 0)).map(([name]) => name);
        read.sort();
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      // The partitions holding yesterday and later, not last month's (unless yesterday is in it).
      expect(read).toEqual(
        partitionsFor(now, 3)
          .filter((partition) => new Date(`${partition.to}T00:00:00Z`) > yesterday)
          .map((partition) => partition.name),
      );
      expect(await daily()).toEqual([
        { day: iso(older), conversations: 1, messages: 3, unique_users: 1 },
        { day: iso(today), conversations: 2, messages: 3, unique_users: 2 },
      ]);

      // A day whose messages are all gone loses its row; a full recompute ('-infinity') sees every day.
      await pool.query("DELETE FROM messages WHERE created_at >= $1", [today]);
      await pool.query("SELECT public.parley_refresh_analytics()");
      expect(await daily()).toEqual([{ day: iso(older), conversations: 1, messages: 3, unique_users: 1 }]);
      await pool.query("SELECT public.parley_refresh_analytics('-infinity')");
      expect(await daily()).toEqual([{ day: iso(older), conversations: 2, messages: 4, unique_users: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe("migration 10, on a database with the analytics view", () => {
  it("keeps the view's rows, but those of organizations deleted since its last refresh, and recomputes from there", async () => {
    const own = await createTestDatabase("analytics");
    const client = new pg.Client({ connectionString: own.primaryUrl });
    await client.connect();
    const pool = new pg.Pool({ connectionString: own.primaryUrl, max: 2 });
    try {
      // Migrations 1–9 as migrate() applies them.
      await client.query(
        "CREATE TABLE schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      for (const migration of migrations.filter((m) => m.version < 10)) {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
          migration.version,
          migration.name,
        ]);
      }
      await ensureMessagePartitions(client);
      const organization = async () =>
        (await pool.query<{ id: string }>("INSERT INTO organizations (name) VALUES ('view') RETURNING id"))
          .rows[0]!.id;
      const [kept, deleted] = [await organization(), await organization()];
      const now = new Date();
      const older = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15, 12));
      await insertMessages(pool, kept, [older, now]);
      await insertMessages(pool, deleted, [now]);
      await client.query("REFRESH MATERIALIZED VIEW analytics_daily");
      await pool.query("DELETE FROM organizations WHERE id = $1", [deleted]);
      // Written after the view's last refresh: the first round after the migration counts it.
      await insertMessages(pool, kept, [now]);

      await migrate(own.primaryUrl);
      const rows = async () =>
        (
          await pool.query(
            "SELECT organization_id, to_char(day, 'YYYY-MM-DD') AS day, messages::int FROM analytics_daily ORDER BY day",
          )
        ).rows;
      const day = (date: Date) => date.toISOString().slice(0, 10);
      expect(await rows()).toEqual([
        { organization_id: kept, day: day(older), messages: 1 },
        { organization_id: kept, day: day(now), messages: 1 },
      ]);
      await pool.query("SELECT public.parley_refresh_analytics()");
      expect(await rows()).toEqual([
        { organization_id: kept, day: day(older), messages: 1 },
        { organization_id: kept, day: day(now), messages: 2 },
      ]);
    } finally {
      await client.end();
      await pool.end();
    }
  });
});

describe("message partitions", () => {
  const partitionBounds = async (pool: pg.Pool) =>
    (
      await pool.query<{ name: string; bound: string }>(
        `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'messages'::regclass ORDER BY 1`,
      )
    ).rows;

  it("creates last month's, this month's and three months ahead, once", async () => {
    const own = await createTestDatabase("partitions");
    const pool = new pg.Pool({ connectionString: own.primaryUrl, max: 2 });
    // A year from today: past the partitions the migration made, within the two years ahead that
    // parley_create_message_partition accepts (migration 5).
    const today = new Date();
    const year = today.getUTCFullYear() + 1;
    const month = today.getUTCMonth();
    const monthStart = (offset: number) => new Date(Date.UTC(year, month + offset, 1));
    const iso = (date: Date) => date.toISOString().slice(0, 10);
    const nameOf = (offset: number) => {
      const first = monthStart(offset);
      return `messages_${first.getUTCFullYear()}_${String(first.getUTCMonth() + 1).padStart(2, "0")}`;
    };
    const boundOf = (offset: number) =>
      `FOR VALUES FROM ('${iso(monthStart(offset))} 00:00:00+00') TO ('${iso(monthStart(offset + 1))} 00:00:00+00')`;
    try {
      await migrate(own.primaryUrl);
      const now = new Date(Date.UTC(year, month, 15, 12));
      const offsets = [-1, 0, 1, 2, 3];
      expect(await ensureMessagePartitions(pool, 3, now)).toEqual(offsets.map(nameOf));
      const names = new Set(offsets.map(nameOf));
      const created = (await partitionBounds(pool)).filter((p) => names.has(p.name));
      expect(created).toEqual(offsets.map((offset) => ({ name: nameOf(offset), bound: boundOf(offset) })));
      // A month later only the new month ahead is missing.
      expect(await ensureMessagePartitions(pool, 3, new Date(Date.UTC(year, month + 1, 3)))).toEqual([
        nameOf(4),
      ]);
      expect(await ensureMessagePartitions(pool, 3, now)).toEqual([]);
    } finally {
      await pool.end();
    }
  });

  it("the maintenance round creates a future month's partition that is missing", async () => {
    const own = await createTestDatabase("partitions");
    const pool = new pg.Pool({ connectionString: own.primaryUrl, max: 2 });
    const db = openDatabase({ primaryUrl: own.primaryUrl, replicaUrls: [own.replicaUrl] });
    try {
      await migrate(own.primaryUrl);
      const today = new Date();
      const ahead = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 3, 1));
      const name = `messages_${ahead.getUTCFullYear()}_${String(ahead.getUTCMonth() + 1).padStart(2, "0")}`;
      await pool.query(`DROP TABLE ${name}`);
      expect((await partitionBounds(pool)).map((p) => p.name)).not.toContain(name);
      expect(await new Maintenance(db, 60_000, log).runOnce()).toBe(true);
      expect((await partitionBounds(pool)).map((p) => p.name)).toContain(name);
    } finally {
      await Promise.all([pool.end(), db.close()]);
    }
  });
});

describe("prepared primary statements", () => {
  it("prepares each statement text once per connection, variants of one operation under names of their own", async () => {
    // One connection: every statement below runs on it.
    const db = openDatabase({ replicaUrls: [], primaryMax: 1, replicaMax: 1, checkIntervalMs: 60_000 });
    await db.start();
    try {
      const one = () => db.query<{ n: number }>("primary", "probe", "SELECT $1::int AS n", [1]);
      const other = () => db.query<{ n: number }>("primary", "probe", "SELECT $1::int + 1 AS n", [1]);
      for (let round = 0; round < 3; round++)
        expect((await Promise.all([one(), other(), one()])).map((result) => result.rows[0]?.n)).toEqual([
          1, 2, 1,
        ]);
      // PostgreSQL's own list of the session's prepared statements.
      const prepared = await db.query<{ name: string; statement: string }>(
        "primary",
        "probe.prepared",
        "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'probe/%' ORDER BY statement",
      );
      expect(prepared.rows.map((row) => row.statement)).toEqual([
        "SELECT $1::int + 1 AS n",
        "SELECT $1::int AS n",
      ]);
      expect(new Set(prepared.rows.map((row) => row.name)).size).toBe(2);
    } finally {
      await db.close();
    }
  });
});

describe("timestamps", () => {
  it("reach the app as the ISO 8601 text the API sends, whatever the session's time zone", async () => {
    // One connection: the time zone set below is the session's for what follows.
    const db = openDatabase({ primaryMax: 1, replicaMax: 1, checkIntervalMs: 60_000 });
    await db.start();
    const sql = `SELECT '2026-12-02 18:41:44.123456+00'::timestamptz AS micro,
                        '2026-12-02 18:41:44+00'::timestamptz AS whole,
                        '2026-12-02 18:41:44.1+00'::timestamptz AS tenth,
                        '0050-06-01 00:00:00+00'::timestamptz AS early,
                        'infinity'::timestamptz AS endless,
                        current_setting('TimeZone') AS zone`;
    const expected = {
      micro: "2026-12-02T18:41:44.123Z",
      whole: "2026-12-02T18:41:44.000Z",
      tenth: "2026-12-02T18:41:44.100Z",
      early: "0050-06-01T00:00:00.000Z",
      endless: "infinity",
    };
    try {
      // The replica's pool parses as the primary's.
      expect((await db.read("timestamps.replica", sql, [])).rows[0]).toMatchObject(expected);
      for (const zone of ["UTC", "Asia/Kolkata", "America/St_Johns"]) {
        await db.query("primary", "timestamps.zone", "SELECT set_config('TimeZone', $1, false)", [zone]);
        expect((await db.query("primary", "timestamps", sql)).rows[0]).toEqual({ ...expected, zone });
      }
    } finally {
      await db.close();
    }
  });
});
