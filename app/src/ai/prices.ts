/**
 * The dated price table: USD per 1M input (prompt) and output (completion) tokens, per model. A price
 * applies from its `from` day (UTC) until the model's next entry, so past usage keeps the price it
 * was incurred at when a vendor changes prices: add a row, never edit one.
 *
 * Figures are OpenAI's public list prices (platform.openai.com/docs/pricing, as quoted by third-party
 * summaries in 2025–2026: gpt-4o-mini $0.15/$0.60, gpt-4o $5/$15 at launch, $2.50/$10.00 once the alias moved to the 2024-08-06 snapshot, gpt-4.1 $2.00/$8.00,
 * gpt-4.1-mini $0.40/$1.60, gpt-4.1-nano $0.10/$0.40). The built-in knowledge provider is free.
 */
export interface Price {
  model: string;
  /** First day (YYYY-MM-DD, UTC) the price applies. */
  from: string;
  inputUsdPerMillion: number;
  outputUsdPerMillion: number;
}

export const priceTable: readonly Price[] = [
  { model: "knowledge-v1", from: "2024-01-01", inputUsdPerMillion: 0, outputUsdPerMillion: 0 },
  { model: "gpt-4o-mini", from: "2024-07-18", inputUsdPerMillion: 0.15, outputUsdPerMillion: 0.6 },
  { model: "gpt-4o", from: "2024-05-13", inputUsdPerMillion: 5, outputUsdPerMillion: 15 },
  { model: "gpt-4o", from: "2024-10-02", inputUsdPerMillion: 2.5, outputUsdPerMillion: 10 },
  { model: "gpt-4.1", from: "2025-04-14", inputUsdPerMillion: 2, outputUsdPerMillion: 8 },
  { model: "gpt-4.1-mini", from: "2025-04-14", inputUsdPerMillion: 0.4, outputUsdPerMillion: 1.6 },
  { model: "gpt-4.1-nano", from: "2025-04-14", inputUsdPerMillion: 0.1, outputUsdPerMillion: 0.4 },
];

/** Models with a price: the only ones a chatbot may declare, so every reply it costs is priced. */
export const pricedModels: readonly string[] = [...new Set(priceTable.map((price) => price.model))];

const day = (at: Date) => at.toISOString().slice(0, 10);

/** The price of `model` in effect on `at`'s UTC day; undefined for an unknown model or an earlier day. */
export function priceOf(model: string, at: Date, table: readonly Price[] = priceTable): Price | undefined {
  const today = day(at);
  let found: Price | undefined;
  for (const price of table)
    if (price.model === model && price.from <= today && (!found || price.from > found.from)) found = price;
  return found;
}

/**
 * The cost of one exchange in USD. Unknown models cost 0 here (their tokens still count against the
 * organization's token budget); `priced` says whether the table knew the model.
 */
export function costUsd(
  model: string,
  tokens: { promptTokens: number; completionTokens: number },
  at: Date,
  table: readonly Price[] = priceTable,
): { usd: number; priced: boolean } {
  const price = priceOf(model, at, table);
  if (!price) return { usd: 0, priced: false };
  const usd =
    (tokens.promptTokens * price.inputUsdPerMillion + tokens.completionTokens * price.outputUsdPerMillion) /
    1_000_000;
  return { usd, priced: true };
}
