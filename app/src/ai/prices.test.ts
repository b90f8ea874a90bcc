import { describe, expect, it } from "vitest";
import { costUsd, type Price, pricedModels, priceOf, priceTable } from "./prices";

const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

describe("price table", () => {
  it("prices a million prompt and a million completion tokens at the table's rates", () => {
    expect(
      costUsd("gpt-4o-mini", { promptTokens: 1_000_000, completionTokens: 0 }, day("2026-12-01")).usd,
    ).toBe(0.15);
    expect(
      costUsd("gpt-4o-mini", { promptTokens: 0, completionTokens: 1_000_000 }, day("2026-12-01")).usd,
    ).toBe(0.6);
    // 11 prompt + 7 completion tokens of gpt-4o: 11 × $2.50/M + 7 × $10/M = $0.0000975.
    expect(costUsd("gpt-4o", { promptTokens: 11, completionTokens: 7 }, day("2026-12-01")).usd).toBeCloseTo(
      0.0000975,
      12,
    );
  });

  it("uses the price in effect on the day of use: a later row does not reprice the past", () => {
    const tokens = { promptTokens: 1_000_000, completionTokens: 1_000_000 };
    expect(costUsd("gpt-4o", tokens, day("2024-09-30")).usd).toBe(20);
    expect(costUsd("gpt-4o", tokens, day("2024-10-02")).usd).toBe(12.5);
    expect(priceOf("gpt-4o", day("2024-05-12"))).toBeUndefined();
  });

  it("picks the newest row on or before the day whatever the rows' order", () => {
    const table: Price[] = [
      { model: "m", from: "2026-03-01", inputUsdPerMillion: 3, outputUsdPerMillion: 3 },
      { model: "m", from: "2026-01-01", inputUsdPerMillion: 1, outputUsdPerMillion: 1 },
      { model: "m", from: "2026-02-01", inputUsdPerMillion: 2, outputUsdPerMillion: 2 },
    ];
    expect(priceOf("m", day("2026-02-28"), table)?.inputUsdPerMillion).toBe(2);
    expect(priceOf("m", day("2026-03-01"), table)?.inputUsdPerMillion).toBe(3);
  });

  it("costs an unknown model nothing and says it was not priced", () => {
    expect(costUsd("fake-model", { promptTokens: 10, completionTokens: 10 }, day("2026-12-01"))).toEqual({
      usd: 0,
      priced: false,
    });
  });

  it("has one row per model and day, dated YYYY-MM-DD, with non-negative prices", () => {
    const keys = priceTable.map((price) => `${price.model}@${price.from}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const price of priceTable) {
      expect(price.from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(price.inputUsdPerMillion).toBeGreaterThanOrEqual(0);
      expect(price.outputUsdPerMillion).toBeGreaterThanOrEqual(0);
    }
    expect(pricedModels).toContain("gpt-4o-mini");
  });
});
