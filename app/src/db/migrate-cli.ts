/**
 * `npm run migrate`: migrates DATABASE_URL (as the owner of the schema) and, when
 * DATABASE_APP_PASSWORD and DATABASE_EXPORTER_PASSWORD are set, creates or rotates the app's and the
 * exporter's roles (./roles.ts). One readable line and a non-zero exit on failure.
 */
import { migrate } from "./migrate";
import { migrations } from "./migrations";
import { roleSettingsFrom } from "./roles";

export async function migrateCli(env: NodeJS.ProcessEnv): Promise<number> {
  const url = env.DATABASE_URL;
  if (!url) {
    console.error("migrate: DATABASE_URL is not set (expected a postgres:// URL)");
    return 1;
  }
  try {
    const roles = roleSettingsFrom(env);
    await migrate(url, roles);
    console.log(
      `migrate: schema up to date (version ${migrations.at(-1)!.version})${roles ? `; roles ${roles.app.name} and ${roles.exporter.name} set` : ""}`,
    );
    return 0;
  } catch (error) {
    console.error(`migrate: ${(error as Error).message}`);
    return 1;
  }
}

// Not `require.main === module`: that is also true inside the app bundle, which imports this file.
if (/migrate-cli\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  void migrateCli(process.env).then((code) => process.exit(code));
