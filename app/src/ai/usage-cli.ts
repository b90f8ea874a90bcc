/**
 * `npm run ai:usage -- [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format table|csv]`: the AI usage
 * audit of DATABASE_URL (./usage-report.ts). One readable line and exit 1 on bad input or failure.
 */
import { parseUsageArguments, UsageArgumentError, usageCsv, usageReport, usageTable } from "./usage-report";

export async function usageCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let options: ReturnType<typeof parseUsageArguments>;
  try {
    options = parseUsageArguments(args);
  } catch (error) {
    if (!(error instanceof UsageArgumentError)) throw error;
    console.error(`ai:usage: ${error.message}`);
    return 1;
  }
  if (!env.DATABASE_URL) {
    console.error("ai:usage: DATABASE_URL is not set (expected a postgres:// URL)");
    return 1;
  }
  try {
    const rows = await usageReport(env.DATABASE_URL, options);
    process.stdout.write(options.format === "csv" ? usageCsv(rows) : `${usageTable(rows, options)}\n`);
    return 0;
  } catch (error) {
    console.error(`ai:usage: ${(error as Error).message}`);
    return 1;
  }
}

if (/usage-cli\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  void usageCli(process.argv.slice(2), process.env).then((code) => process.exit(code));
