/**
 * The database's login roles besides the migrating (master) user, created and granted by the
 * migration step: the app's role gets DML on the schema's tables and sequences and EXECUTE on the two
 * maintenance functions, and owns nothing (no DDL, TRUNCATE or DROP); the exporter's role gets
 * `pg_monitor` (the statistics views) and no table. Re-running sets the passwords again, so a new
 * password given to the migration Job rotates it. On RDS the migrating (master) user has CREATEROLE
 * and rds_superuser, which may create roles and grant privileges (RDS user guide, "Understanding the
 * rds_superuser role").
 */
import type pg from "pg";
import { databaseRoles } from "../../../contracts/database";

export interface LoginRole {
  name: string;
  password: string;
}

export interface RoleSettings {
  app: LoginRole;
  exporter: LoginRole;
}

/** The roles from the migration step's environment; undefined when neither password is set (local runs). */
export function roleSettingsFrom(env: NodeJS.ProcessEnv): RoleSettings | undefined {
  const app = env[databaseRoles.app.passwordEnv];
  const exporter = env[databaseRoles.exporter.passwordEnv];
  if (!app && !exporter) return undefined;
  for (const [key, value] of [
    [databaseRoles.app.passwordEnv, app],
    [databaseRoles.exporter.passwordEnv, exporter],
  ] as const) {
    if (!value || value.length < 16)
      throw new Error(
        `${key}=${value ? "<set>" : "unset"}: expected a password of at least 16 characters (both role passwords are set together)`,
      );
  }
  return {
    app: { name: databaseRoles.app.name, password: app! },
    exporter: { name: databaseRoles.exporter.name, password: exporter! },
  };
}

/** Maintenance functions the app may call (migrations 5 and 10 create them, owned by the migrating role). */
const maintenanceFunctions = [
  "public.parley_create_message_partition(date)",
  "public.parley_refresh_analytics(date)",
];

async function upsertLoginRole(client: pg.ClientBase, role: LoginRole): Promise<void> {
  const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role.name]);
  const name = client.escapeIdentifier(role.name);
  // Utility statements take no parameters: escapeLiteral quotes the password.
  const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD ${client.escapeLiteral(role.password)}`;
  await client.query(`${exists.rowCount ? "ALTER" : "CREATE"} ROLE ${name} WITH ${attributes}`);
}

/**
 * Creates or updates both roles and (re)grants what each needs in the connected database. Runs as the
 * migrating role after the migrations, inside their advisory lock.
 */
export async function applyRoles(client: pg.ClientBase, roles: RoleSettings): Promise<void> {
  await upsertLoginRole(client, roles.app);
  await upsertLoginRole(client, roles.exporter);
  const app = client.escapeIdentifier(roles.app.name);
  const exporter = client.escapeIdentifier(roles.exporter.name);
  const database = client.escapeIdentifier(
    (await client.query<{ name: string }>("SELECT current_database() AS name")).rows[0]!.name,
  );
  const statements = [
    // Nobody but the owner creates objects in public (already so on PostgreSQL 15+).
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    `GRANT CONNECT ON DATABASE ${database} TO ${app}, ${exporter}`,
    `GRANT USAGE ON SCHEMA public TO ${app}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${app}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${app}`,
    // Tables the migrating role creates later (partitions included) come with the same grants.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${app}`,
    // The migration bookkeeping is the migrator's alone.
    `REVOKE ALL ON public.schema_migrations FROM ${app}`,
    ...maintenanceFunctions.map((fn) => `GRANT EXECUTE ON FUNCTION ${fn} TO ${app}`),
    `GRANT pg_monitor TO ${exporter}`,
  ];
  for (const statement of statements) await client.query(statement);
}
