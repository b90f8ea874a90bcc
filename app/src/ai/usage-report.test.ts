import { describe, expect, it } from "vitest";
import { parseUsageArguments, type UsageRow, usageCsv, usageTable } from "./usage-report";

const now = new Date("2026-12-15T10:00:00Z");

const row = (overrides: Partial<UsageRow>): UsageRow => ({
  organization_id: "11111111-1111-1111-1111-111111111111",
  organization: "Acme",
  plan: "free",
  provider_replies: 8,
  prompt_tokens: 800,
  completion_tokens: 200,
  cost_usd: 0.00024,
  exact_cache_hits: 1,
  semantic_cache_hits: 1,
  saved_tokens: 250,
  saved_usd: 0.00006,
  cheap_replies: 6,
  strong_replies: 2,
  default_replies: 0,
  ...overrides,
});

describe("ai:usage arguments", () => {
  it("default to this month so far, as a table", () => {
    expect(parseUsageArguments([], now)).toEqual({ from: "2026-12-01", to: "2026-12-15", format: "table" });
  });

  it("take a period and a format", () => {
    expect(
      parseUsageArguments(["--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv"], now),
    ).toEqual({
      from: "2026-11-01",
      to: "2026-11-30",
      format: "csv",
    });
  });

  it("reject bad input with one line naming the option, the value and what is allowed", () => {
    expect(() => parseUsageArguments(["--from", "yesterday"], now)).toThrow(
      '--from="yesterday": expected a day as YYYY-MM-DD',
    );
    expect(() => parseUsageArguments(["--format", "xml"], now)).toThrow(
      '--format="xml": expected table or csv',
    );
    expect(() => parseUsageArguments(["--to"], now)).toThrow("--to needs a value");
    expect(() => parseUsageArguments(["--org", "x"], now)).toThrow('unknown option "--org"');
    expect(() => parseUsageArguments(["--from", "2026-12-10", "--to", "2026-12-01"], now)).toThrow(
      "expected from <= to",
    );
  });
});

describe("ai:usage output", () => {
  const rows = [
    row({}),
    row({ organization: 'Big, "Co"', provider_replies: 2, cheap_replies: 0, strong_replies: 2 }),
  ];

  it("prints a table with the routing mix, cache share and a total line", () => {
    const table = usageTable(rows, { from: "2026-12-01", to: "2026-12-15" }).split("\n");
    expect(table[0]).toBe("AI usage 2026-12-01 to 2026-12-15 (UTC days, inclusive)");
    expect(table[1]).toMatch(
      /^organization\s+plan\s+replies\s+tokens\s+cost_usd\s+cached\s+saved_tokens\s+saved_usd\s+routing$/,
    );
    expect(table[2]).toContain("cheap 75% / strong 25%");
    expect(table[2]).toContain("2 (20%)");
    expect(table[3]).toContain("strong 100%");
    expect(table[4]).toMatch(
      /^TOTAL\s+10\s+2000\s+0\.0005\s+4 \(29%\)\s+500\s+0\.0001\s+cheap 60% \/ strong 40%$/,
    );
  });

  it("says so when nothing was used", () => {
    expect(usageTable([], { from: "2026-12-01", to: "2026-12-15" })).toContain(
      "(no AI usage in this period)",
    );
  });

  it("prints RFC 4180 CSV: a header, quoted fields where needed, CRLF lines", () => {
    const csv = usageCsv(rows);
    const lines = csv.split("\r\n");
    expect(lines[0]).toBe(
      "organization_id,organization,plan,provider_replies,prompt_tokens,completion_tokens,cost_usd,exact_cache_hits,semantic_cache_hits,saved_tokens,saved_usd,cheap_replies,strong_replies,default_replies",
    );
    expect(lines[1]).toBe(
      "11111111-1111-1111-1111-111111111111,Acme,free,8,800,200,0.0002400000,1,1,250,0.0000600000,6,2,0",
    );
    expect(lines[2]).toContain(',"Big, ""Co""",');
    expect(lines.at(-1)).toBe("");
  });
});
