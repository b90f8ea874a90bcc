/**
 * The schema on real PostgreSQL: idempotent migrations with the indexes and monthly partitions, and
 * one maintenance runner at a time across processes (advisory lock), primary statements prepared once
 * per connection.
 */
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/platform";
import { Database } from "../src/db/database";
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

const openDatabase = () =>
  new Database({
    primaryUrl: database.primaryUrl,
    replicaUrls: [database.replicaUrl],
    primaryMax: 3,
    replicaMax: 3,
    maxLagSeconds: 5,
    checkIntervalMs: 100,
    metrics: createMetrics({ version: "t", commit: "t" }),
    log,
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
  it("runs in one process at a time and refreshes the analytics view", async () => {
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
      expect(await runners[0]!.runOnce()).toBe(true);
      const populated = await admin.query(
        "SELECT ispopulated FROM pg_matviews WHERE matviewname = 'analytics_daily'",
      );
      expect(populated.rows[0].ispopulated).toBe(true);
    } finally {
      await Promise.all([first.close(), second.close()]);
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
    const db = new Database({
      primaryUrl: own.primaryUrl,
      replicaUrls: [own.replicaUrl],
      primaryMax: 3,
      replicaMax: 3,
      maxLagSeconds: 5,
      checkIntervalMs: 100,
      metrics: createMetrics({ version: "t", commit: "t" }),
      log,
    });
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
    const db = new Database({
      primaryUrl: database.primaryUrl,
      primaryMax: 1, // one connection: every statement below runs on it
      replicaMax: 1,
      maxLagSeconds: 5,
      checkIntervalMs: 60_000,
      metrics: createMetrics({ version: "t", commit: "t" }),
      log,
    });
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
