/**
 * Applies pending migrations, creates the coming months' message partitions and, given them, the
 * login roles of the app and the exporter. Idempotent and safe
 * to run from several processes at once (an advisory lock serializes them).
 * CLI: `npm run migrate` (./migrate-cli.ts), or `node dist/app/main.js migrate` in the image.
 */
import pg from "pg";
import { migrations } from "./migrations";
import { ensureMessagePartitions } from "./partitions";
import { applyRoles, type RoleSettings } from "./roles";

/** Advisory lock key shared by every migrator ("parley" in ASCII). */
const migrationLock = 0x7061726c6579;

/** With `roles`, also creates the app's and the exporter's login roles, or sets their passwords (./roles.ts). */
export async function migrate(databaseUrl: string, roles?: RoleSettings): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [migrationLock]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const applied = new Set(
      (await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map(
        (row) => row.version,
      ),
    );
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
          migration.version,
          migration.name,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(
          `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
        );
      }
    }
    await ensureMessagePartitions(client);
    if (roles) await applyRoles(client, roles);
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [migrationLock]).catch(() => undefined);
    await client.end();
  }
}
