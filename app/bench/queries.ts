/**
 * Latency of every hot query (./hot-queries.ts) on a load data set (npm run seed:load), one at a time
 * over one warm connection, with parameters rotating through sampled conversations (the worst case
 * among them):
 *
 *   npm run bench:queries -- [--runs 200] [--samples 20] [--json <file>]
 *
 * against DATABASE_URL (default: the local platform's "parley" database). Prints p50/p95 per query
 * against the budget; writes run inside a transaction that is rolled back (only the statement is timed).
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import pg from "pg";
import { loadBudgets } from "./budgets";
import { hotQueries, querySamples, worstCaseSample } from "./hot-queries";
import { defaultDatabaseUrl } from "./seed-load";

export interface QueryTiming {
  name: string;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  budgetMs: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function measureHotQueries(
  databaseUrl: string,
  { runs = 200, samples = 20 }: { runs?: number; samples?: number } = {},
): Promise<QueryTiming[]> {
  const budgetMs = loadBudgets().maxHotQueryP95Ms;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const conversations = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM conversations");
    if (conversations.rows[0]!.n === 0)
      throw new Error("the database has no conversations: run `npm run seed:load` against it first");
    const picked = [await worstCaseSample(client), ...(await querySamples(client, samples - 1))];
    const rounds = await Promise.all(picked.map((sample) => hotQueries(sample)));
    const names = rounds[0]!.map((query) => query.name);
    const timings: QueryTiming[] = [];
    for (const [position, name] of names.entries()) {
      const durations: number[] = [];
      // One warm-up per sample (caches, plans), then `runs` timed executions.
      for (let run = -picked.length; run < runs; run++) {
        const query = rounds[(run + picked.length) % picked.length]![position]!;
        if (query.writes) await client.query("BEGIN");
        const started = performance.now();
        try {
          await client.query(query.sql, query.params);
        } finally {
          const elapsed = performance.now() - started;
          if (query.writes) await client.query("ROLLBACK");
          if (run >= 0) durations.push(elapsed);
        }
      }
      durations.sort((a, b) => a - b);
      timings.push({
        name,
        runs,
        p50Ms: percentile(durations, 50),
        p95Ms: percentile(durations, 95),
        maxMs: durations.at(-1)!,
        budgetMs,
      });
    }
    return timings;
  } finally {
    await client.end();
  }
}

export function formatTimings(timings: QueryTiming[]): string {
  const rows = timings.map((t) => [
    t.name,
    t.p50Ms.toFixed(2),
    t.p95Ms.toFixed(2),
    t.maxMs.toFixed(2),
    `≤ ${t.budgetMs}`,
    t.p95Ms <= t.budgetMs ? "ok" : "OVER",
  ]);
  const header = ["query", "p50 ms", "p95 ms", "max ms", "budget p95", ""];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "),
    )
    .join("\n");
}

export async function queriesCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    let values: { runs: string; samples: string; json?: string };
    try {
      ({ values } = parseArgs({
        args,
        strict: true,
        allowPositionals: false,
        options: {
          runs: { type: "string", default: "200" },
          samples: { type: "string", default: "20" },
          json: { type: "string" },
        },
      }) as { values: typeof values });
    } catch (error) {
      throw new Error(
        `${(error as Error).message.split("\n")[0]} (allowed: --runs N --samples N --json <file>)`,
      );
    }
    const whole = (name: "runs" | "samples", max: number) => {
      const value = Number(values[name]);
      if (!/^\d+$/.test(values[name]) || value < 1 || value > max)
        throw new Error(`--${name} must be a whole number from 1 to ${max}, got "${values[name]}"`);
      return value;
    };
    const options = { runs: whole("runs", 100_000), samples: whole("samples", 1_000) };
    const url = env.DATABASE_URL || defaultDatabaseUrl;
    const timings = await measureHotQueries(url, options);
    console.log(formatTimings(timings));
    if (values.json)
      writeFileSync(values.json, `${JSON.stringify({ at: new Date().toISOString(), timings }, null, 2)}\n`);
    const over = timings.filter((t) => t.p95Ms > t.budgetMs);
    console.log(
      over.length === 0
        ? `bench:queries: all ${timings.length} hot queries within ${timings[0]?.budgetMs} ms p95`
        : `bench:queries: over budget: ${over.map((t) => `${t.name} p95 ${t.p95Ms.toFixed(2)} ms`).join(", ")}`,
    );
    return 0;
  } catch (error) {
    console.error(`bench:queries: ${(error as Error).message.split("\n")[0]}`);
    return 1;
  }
}

if (/[/\\]queries\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  void queriesCli(process.argv.slice(2), process.env).then((code) => process.exit(code));
