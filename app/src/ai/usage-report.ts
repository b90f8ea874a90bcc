/**
 * The AI usage audit behind `npm run ai:usage`: per organization over a period of days, tokens and
 * cost of provider replies, what the caches saved, and the routing mix; printed as a table or CSV.
 */
import pg from "pg";
import { defaultPlan } from "./plans";

export interface UsagePeriod {
  /** First and last day, inclusive, YYYY-MM-DD (UTC). */
  from: string;
  to: string;
}

export interface UsageRow {
  organization_id: string;
  organization: string;
  plan: string;
  provider_replies: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  exact_cache_hits: number;
  semantic_cache_hits: number;
  saved_tokens: number;
  saved_usd: number;
  cheap_replies: number;
  strong_replies: number;
  default_replies: number;
}

export class UsageArgumentError extends Error {
  override name = "UsageArgumentError";
}

const isDay = (value: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));

/** `--from DAY --to DAY --format table|csv`; the period defaults to this month so far. */
export function parseUsageArguments(
  args: string[],
  now = new Date(),
): UsagePeriod & { format: "table" | "csv" } {
  const today = now.toISOString().slice(0, 10);
  const options = { from: `${today.slice(0, 7)}-01`, to: today, format: "table" as "table" | "csv" };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i]!, args[i + 1]];
    if (value === undefined) throw new UsageArgumentError(`${flag} needs a value`);
    if (flag === "--from" || flag === "--to") {
      if (!isDay(value))
        throw new UsageArgumentError(`${flag}=${JSON.stringify(value)}: expected a day as YYYY-MM-DD`);
      options[flag.slice(2) as "from" | "to"] = value;
    } else if (flag === "--format") {
      if (value !== "table" && value !== "csv")
        throw new UsageArgumentError(`--format=${JSON.stringify(value)}: expected table or csv`);
      options.format = value;
    } else
      throw new UsageArgumentError(
        `unknown option ${JSON.stringify(flag)}: expected --from, --to or --format`,
      );
  }
  if (options.from > options.to)
    throw new UsageArgumentError(`--from=${options.from} is after --to=${options.to}: expected from <= to`);
  return options;
}

export async function usageReport(databaseUrl: string, period: UsagePeriod): Promise<UsageRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<Record<keyof UsageRow, string>>(
      `SELECT org.id AS organization_id, org.name AS organization, coalesce(org.plan, $3) AS plan,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'provider'), 0) AS provider_replies,
         coalesce(sum(u.prompt_tokens) FILTER (WHERE u.source = 'provider'), 0) AS prompt_tokens,
         coalesce(sum(u.completion_tokens) FILTER (WHERE u.source = 'provider'), 0) AS completion_tokens,
         coalesce(sum(u.cost_usd) FILTER (WHERE u.source = 'provider'), 0) AS cost_usd,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'exact_cache'), 0) AS exact_cache_hits,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'semantic_cache'), 0) AS semantic_cache_hits,
         coalesce(sum(u.prompt_tokens + u.completion_tokens) FILTER (WHERE u.source <> 'provider'), 0) AS saved_tokens,
         coalesce(sum(u.cost_usd) FILTER (WHERE u.source <> 'provider'), 0) AS saved_usd,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'provider' AND u.route = 'cheap'), 0) AS cheap_replies,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'provider' AND u.route = 'strong'), 0) AS strong_replies,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'provider' AND u.route = 'default'), 0) AS default_replies
       FROM ai_usage_daily u JOIN organizations org ON org.id = u.organization_id
       WHERE u.day BETWEEN $1::date AND $2::date
       GROUP BY org.id
       ORDER BY cost_usd DESC, org.name, org.id`,
      [period.from, period.to, defaultPlan],
    );
    return result.rows.map((raw) => {
      const row: UsageRow = {
        ...zeroRow,
        organization_id: raw.organization_id,
        organization: raw.organization,
        plan: raw.plan,
      };
      for (const column of numericColumns) row[column] = Number(raw[column]);
      return row;
    });
  } finally {
    await client.end();
  }
}

const percent = (part: number, whole: number) => (whole === 0 ? "-" : `${Math.round((part / whole) * 100)}%`);

function routingMix(row: UsageRow): string {
  const parts = (["cheap", "strong", "default"] as const)
    .filter((route) => row[`${route}_replies`] > 0)
    .map((route) => `${route} ${percent(row[`${route}_replies`], row.provider_replies)}`);
  return parts.join(" / ") || "-";
}

const zeroRow: UsageRow = {
  organization_id: "",
  organization: "",
  plan: "",
  provider_replies: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  cost_usd: 0,
  exact_cache_hits: 0,
  semantic_cache_hits: 0,
  saved_tokens: 0,
  saved_usd: 0,
  cheap_replies: 0,
  strong_replies: 0,
  default_replies: 0,
};

const csvColumns = Object.keys(zeroRow) as Array<keyof UsageRow>;
type NumericColumn = { [K in keyof UsageRow]: UsageRow[K] extends number ? K : never }[keyof UsageRow];
const numericColumns = csvColumns.filter((column) => typeof zeroRow[column] === "number") as NumericColumn[];

/** A fixed-width table, one line per organization and a total line. */
export function usageTable(rows: UsageRow[], period: UsagePeriod): string {
  const header = [
    "organization",
    "plan",
    "replies",
    "tokens",
    "cost_usd",
    "cached",
    "saved_tokens",
    "saved_usd",
    "routing",
  ];
  const line = (row: UsageRow, name: string) => {
    const cached = row.exact_cache_hits + row.semantic_cache_hits;
    return [
      name,
      row.plan,
      String(row.provider_replies),
      String(row.prompt_tokens + row.completion_tokens),
      row.cost_usd.toFixed(4),
      `${cached} (${percent(cached, cached + row.provider_replies)})`,
      String(row.saved_tokens),
      row.saved_usd.toFixed(4),
      routingMix(row),
    ];
  };
  const total = { ...zeroRow };
  for (const row of rows) for (const key of numericColumns) total[key] += row[key];
  const lines = [header, ...rows.map((row) => line(row, `${row.organization} (${row.organization_id})`))];
  if (rows.length > 0) lines.push(line(total, "TOTAL"));
  const widths = header.map((_, column) => Math.max(...lines.map((cells) => cells[column]!.length)));
  const render = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [
    `AI usage ${period.from} to ${period.to} (UTC days, inclusive)`,
    render(header),
    ...lines.slice(1).map(render),
    ...(rows.length === 0 ? ["(no AI usage in this period)"] : []),
  ].join("\n");
}

const csvCell = (value: string | number) => {
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** RFC 4180 CSV with a header line; amounts in USD with 10 decimals, as stored. */
export function usageCsv(rows: UsageRow[]): string {
  const lines = [csvColumns.join(",")];
  for (const row of rows)
    lines.push(
      csvColumns
        .map((column) =>
          csvCell(column === "cost_usd" || column === "saved_usd" ? row[column].toFixed(10) : row[column]),
        )
        .join(","),
    );
  return `${lines.join("\r\n")}\r\n`;
}
