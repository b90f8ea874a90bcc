/** `npm run migrate`: migrates DATABASE_URL; one readable line and a non-zero exit on failure. */
import { migrate } from "./migrate";
import { migrations } from "./migrations";

export async function migrateCli(env: NodeJS.ProcessEnv): Promise<number> {
  const url = env.DATABASE_URL;
  if (!url) {
    console.error("migrate: DATABASE_URL is not set (expected a postgres:// URL)");
    return 1;
  }
  try {
    await migrate(url);
    console.log(`migrate: schema up to date (version ${migrations.at(-1)!.version})`);
    return 0;
  } catch (error) {
    console.error(`migrate: ${(error as Error).message}`);
    return 1;
  }
}

// Not `require.main === module`: that is also true inside the app bundle, which imports this file.
if (/migrate-cli\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  void migrateCli(process.env).then((code) => process.exit(code));
