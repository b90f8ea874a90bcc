/**
 * Least-privilege database roles on real PostgreSQL: the migration step (as the schema's owner)
 * creates the app's and the exporter's login roles; the app runs as its role (writes, a new message
 * partition, the analytics refresh) and is refused DDL, TRUNCATE and other roles' data; the exporter
 * reads the statistics views and no table; re-running the migration with new passwords rotates them.
 * The roles get names of this file's own (roles are cluster-wide) in a database of its own.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseRoles } from "../../contracts/database";
import {
  api,
  createChatbot,
  createConversation,
  registerTenant,
  testConfig,
} from "../../tests/support/app/harness";
import { createTestDatabase, type TestDatabase } from "../../tests/support/platform";
import { migrate } from "../src/db/migrate";
import { partitionsFor } from "../src/db/partitions";
import { type RoleSettings, roleSettingsFrom } from "../src/db/roles";
import { startParley } from "../src/main";

const suffix = randomUUID().replaceAll("-", "").slice(0, 8);
const password = () => randomBytes(24).toString("base64url");
const roles: RoleSettings = {
  app: { name: `${databaseRoles.app.name}_${suffix}`, password: password() },
  exporter: { name: `${databaseRoles.exporter.name}_${suffix}`, password: password() },
};

let database: TestDatabase;
let admin: pg.Pool;

/** The same server and database as `url`, logged in as `user`. */
const as = (url: string, user: string, secret: string) => {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = secret;
  return parsed.toString();
};

async function clientAs(role: { name: string; password: string }): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: as(database.primaryUrl, role.name, role.password) });
  await client.connect();
  return client;
}

/** The SQLSTATE and message a statement fails with (it must fail). */
async function refusal(client: pg.Client, sql: string): Promise<{ code: string; message: string }> {
  try {
    await client.query(sql);
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  throw new Error(`expected a refusal for: ${sql}`);
}

/** Whether `secret` is the password behind a SCRAM-SHA-256 verifier (RFC 5802/7677 key derivation). */
function scramMatches(verifier: string, secret: string): boolean {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!match) throw new Error(`not a SCRAM-SHA-256 verifier: ${verifier.slice(0, 14)}…`);
  const [, iterations, salt, storedKey] = match;
  const salted = pbkdf2Sync(secret, Buffer.from(salt!, "base64"), Number(iterations), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return createHash("sha256").update(clientKey).digest("base64") === storedKey;
}

const verifierOf = async (role: string) =>
  (await admin.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [role]))
    .rows[0]!.rolpassword;

beforeAll(async () => {
  database = await createTestDatabase("roles");
  admin = new pg.Pool({ connectionString: database.primaryUrl, max: 2 });
  await migrate(database.primaryUrl, roles);
  await database.replicated();
});
afterAll(async () => {
  await admin?.end();
});

describe("the migration step's roles", () => {
  it("reads both passwords from the Job's environment, or none, and names a missing one", () => {
    expect(roleSettingsFrom({})).toBeUndefined();
    const env = { DATABASE_APP_PASSWORD: "a".repeat(20), DATABASE_EXPORTER_PASSWORD: "b".repeat(20) };
    expect(roleSettingsFrom(env)).toEqual({
      app: { name: "parley_app", password: "a".repeat(20) },
      exporter: { name: "parley_exporter", password: "b".repeat(20) },
    });
    expect(() => roleSettingsFrom({ DATABASE_APP_PASSWORD: "a".repeat(20) })).toThrow(
      "DATABASE_EXPORTER_PASSWORD=unset: expected a password of at least 16 characters",
    );
  });

  it("are plain logins that own nothing, with the given passwords", async () => {
    const rows = await admin.query(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin
         FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [[roles.app.name, roles.exporter.name]],
    );
    expect(rows.rows).toEqual(
      [roles.app.name, roles.exporter.name].sort().map((rolname) => ({
        rolname,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        rolbypassrls: false,
        rolcanlogin: true,
      })),
    );
    const owned = await admin.query(
      "SELECT count(*)::int AS n FROM pg_class WHERE relowner IN (SELECT oid FROM pg_roles WHERE rolname = ANY($1))",
      [[roles.app.name, roles.exporter.name]],
    );
    expect(owned.rows[0].n).toBe(0);
    expect(scramMatches(await verifierOf(roles.app.name), roles.app.password)).toBe(true);
    expect(scramMatches(await verifierOf(roles.exporter.name), roles.exporter.password)).toBe(true);
  });
});

describe("the app as its own role", () => {
  it("writes messages, creates the next partition and refreshes analytics", async () => {
    // The furthest partition is gone, as when a new month comes into the window.
    const furthest = partitionsFor(new Date(), 3).at(-1)!.name;
    await admin.query(`DROP TABLE ${furthest}`);
    const { config } = await testConfig("roles", {}, database);
    const app = await startParley(
      {
        ...config,
        databaseUrl: as(database.primaryUrl, roles.app.name, roles.app.password),
        databaseReplicaUrls: [as(database.replicaUrl, roles.app.name, roles.app.password)],
        analyticsRefreshIntervalMs: 300,
        cacheTtlSeconds: { ...config.cacheTtlSeconds, analytics: 1 },
      },
      { log: pino({ level: "silent" }) },
    );
    try {
      const sessions = await admin.query<{ usename: string }>(
        "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND usename <> current_user",
        [database.name],
      );
      expect(sessions.rows.map((row) => row.usename)).toEqual([roles.app.name]);

      const tenant = await registerTenant(app.url);
      const bot = await createChatbot(app.url, tenant.token);
      const conversation = await createConversation(app.url, tenant.token, bot.id);
      const posted = await api(app.url, "POST", `/api/conversations/${conversation.id}/messages`, {
        token: tenant.token,
        body: { content: "What are your opening hours?" },
      });
      expect(posted.status).toBe(201);

      let messages = 0;
      for (let attempt = 0; attempt < 60 && messages !== 2; attempt++) {
        const dashboard = await api(app.url, "GET", "/api/analytics/dashboard?days=7", {
          token: tenant.token,
        });
        messages = dashboard.body.totals?.messages ?? 0;
        if (messages !== 2) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(messages).toBe(2);
      const partition = await admin.query("SELECT tableowner FROM pg_tables WHERE tablename = $1", [
        furthest,
      ]);
      // Created by the app's maintenance round, owned by the migrating role.
      expect(partition.rows).toEqual([{ tableowner: "postgres" }]);
    } finally {
      await app.close();
    }
  });

  it("is refused DDL, TRUNCATE, the migrations' bookkeeping and other roles' data", async () => {
    const other = `parley_other_${suffix}`;
    await admin.query(`CREATE ROLE ${other}`);
    await admin.query(`CREATE SCHEMA other_data AUTHORIZATION ${other}`);
    await admin.query(`SET ROLE ${other}; CREATE TABLE other_data.notes (body text); RESET ROLE`);
    const client = await clientAs(roles.app);
    try {
      const denied = [
        "DROP TABLE messages",
        "CREATE TABLE scratch (id int)",
        "ALTER TABLE users ADD COLUMN nickname text",
        "TRUNCATE idempotency_keys",
        "CREATE INDEX ON analytics_daily (day)",
        "CREATE TABLE messages_2099_01 PARTITION OF messages FOR VALUES FROM ('2099-01-01') TO ('2099-02-01')",
        "SELECT * FROM schema_migrations",
        "SELECT * FROM other_data.notes",
        "SELECT rolpassword FROM pg_authid",
        "CREATE ROLE sneaky LOGIN",
      ];
      for (const sql of denied) {
        const { code, message } = await refusal(client, sql);
        expect({ sql, code }, message).toEqual({ sql, code: "42501" });
      }
      // The maintenance function does one bounded thing.
      expect((await refusal(client, "SELECT parley_create_message_partition('2099-01-01')")).message).toMatch(
        /outside 2000-01 \.\. two years ahead/,
      );
      // DML it has.
      await client.query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'");
    } finally {
      await client.end();
    }
  });
});

describe("the exporter's role", () => {
  it("reads the statistics views, other sessions' queries included, and no table", async () => {
    const busy = await clientAs(roles.app);
    const client = await clientAs(roles.exporter);
    try {
      await busy.query("SELECT 'marker-' || $1::text", [suffix]);
      const stats = await client.query("SELECT numbackends FROM pg_stat_database WHERE datname = $1", [
        database.name,
      ]);
      expect(stats.rows[0].numbackends).toBeGreaterThanOrEqual(2);
      const activity = await client.query<{ query: string }>(
        "SELECT query FROM pg_stat_activity WHERE usename = $1",
        [roles.app.name],
      );
      expect(activity.rows.map((row) => row.query)).toContain("SELECT 'marker-' || $1::text");
      await client.query("SELECT * FROM pg_stat_user_tables");
      expect((await refusal(client, "SELECT * FROM users")).code).toBe("42501");
      expect((await refusal(client, "SELECT * FROM analytics_daily")).code).toBe("42501");
    } finally {
      await Promise.all([busy.end(), client.end()]);
    }
  });
});

describe("rotation", () => {
  it("re-running the migration sets new passwords and keeps the grants", async () => {
    const rotated: RoleSettings = {
      app: { ...roles.app, password: password() },
      exporter: { ...roles.exporter, password: password() },
    };
    await migrate(database.primaryUrl, rotated);
    expect(scramMatches(await verifierOf(roles.app.name), rotated.app.password)).toBe(true);
    expect(scramMatches(await verifierOf(roles.app.name), roles.app.password)).toBe(false);
    expect(scramMatches(await verifierOf(roles.exporter.name), rotated.exporter.password)).toBe(true);
    const client = await clientAs(rotated.app);
    try {
      await client.query("SELECT count(*) FROM messages");
    } finally {
      await client.end();
    }
  });
});
