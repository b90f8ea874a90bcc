/**
 * The performance budgets (./budgets.json, validated here) and the comparison `npm run bench:check`
 * makes: one readable line per figure over its budget.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { BenchReport, ScenarioKey } from "./report";

const ratio = z.number().positive();
const positive = z.number().positive();

export const budgetsSchema = z
  .object({
    $comment: z.string().optional(),
    /** Minimum req/s as a multiple of the Express 5 hello baseline measured around the scenario. */
    throughputRatios: z
      .object({
        healthz: ratio,
        cachedChatbot: ratio,
        cachedMessages: ratio,
        replicaRead: ratio,
        postMessage: ratio,
      })
      .strict(),
    mixed: z
      .object({
        connections: z.number().int().positive(),
        maxP95Ms: positive,
        maxErrors: z.number().int().min(0),
      })
      .strict(),
    sse: z
      .object({
        streams: z.number().int().positive(),
        maxP95Ms: positive,
        maxErrors: z.number().int().min(0),
      })
      .strict(),
    maxAppRssMB: positive,
    maxKnowledgeCpuMsPerMessage: positive,
    maxCursorRedisMB: positive,
    /** Checked when the report carries hot-query figures (app/bench/queries.ts). */
    maxHotQueryP95Ms: positive,
  })
  .strict();
export type Budgets = z.infer<typeof budgetsSchema>;

export const budgetsFile = join(__dirname, "budgets.json");

export function loadBudgets(file = budgetsFile): Budgets {
  const parsed = budgetsSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** Every figure over its budget, one line each; empty when the run is within all of them. */
export function checkBudgets(report: BenchReport, budgets: Budgets): string[] {
  const failures: string[] = [];
  const scenario = (key: ScenarioKey) => {
    const found = report.scenarios.find((s) => s.key === key);
    if (!found) failures.push(`${key}: not measured in this run`);
    return found;
  };
  for (const [key, minimum] of Object.entries(budgets.throughputRatios) as Array<[ScenarioKey, number]>) {
    const s = scenario(key);
    if (s && !(s.ratio >= minimum))
      failures.push(
        `${s.name}: ${s.ratio.toFixed(3)}× baseline (${s.requestsPerSecond.toFixed(0)} req/s), budget ≥ ${minimum}×`,
      );
    if (s && s.errors > 0) failures.push(`${s.name}: ${s.errors} errors, budget 0`);
  }
  const mixed = scenario("mixed");
  if (mixed) {
    if (mixed.connections !== budgets.mixed.connections)
      failures.push(
        `${mixed.name}: ran at ${mixed.connections} connections, the budget is for ${budgets.mixed.connections}`,
      );
    if (!(mixed.p95Ms <= budgets.mixed.maxP95Ms))
      failures.push(`${mixed.name}: p95 ${mixed.p95Ms.toFixed(2)} ms, budget ≤ ${budgets.mixed.maxP95Ms} ms`);
    if (mixed.errors > budgets.mixed.maxErrors)
      failures.push(`${mixed.name}: ${mixed.errors} errors, budget ≤ ${budgets.mixed.maxErrors}`);
  }
  const sse = scenario("sse");
  if (sse) {
    if (sse.requests < budgets.sse.streams)
      failures.push(`${sse.name}: ${sse.requests} streams opened, the budget is for ${budgets.sse.streams}`);
    if (!(sse.p95Ms <= budgets.sse.maxP95Ms))
      failures.push(`${sse.name}: p95 ${sse.p95Ms.toFixed(0)} ms, budget ≤ ${budgets.sse.maxP95Ms} ms`);
    if (sse.errors > budgets.sse.maxErrors)
      failures.push(`${sse.name}: ${sse.errors} errors, budget ≤ ${budgets.sse.maxErrors}`);
  }
  if (!(report.peakAppRssMB <= budgets.maxAppRssMB))
    failures.push(`app peak RSS: ${report.peakAppRssMB.toFixed(0)} MB, budget ≤ ${budgets.maxAppRssMB} MB`);
  if (!(report.knowledgeCpuMsPerMessage <= budgets.maxKnowledgeCpuMsPerMessage))
    failures.push(
      `knowledge provider: ${report.knowledgeCpuMsPerMessage.toFixed(3)} ms CPU per message at ${(report.knowledgeBaseBytes / 1000).toFixed(0)} KB, budget ≤ ${budgets.maxKnowledgeCpuMsPerMessage} ms`,
    );
  if (!(report.cursorRedisMB <= budgets.maxCursorRedisMB))
    failures.push(
      `Redis for ${report.cursorCount} cursors: ${report.cursorRedisMB.toFixed(2)} MB, budget ≤ ${budgets.maxCursorRedisMB} MB`,
    );
  if (!report.hotQueryP95Ms || Object.keys(report.hotQueryP95Ms).length === 0)
    failures.push("hot queries: not measured in this run");
  for (const [query, ms] of Object.entries(report.hotQueryP95Ms ?? {}))
    if (!(ms <= budgets.maxHotQueryP95Ms))
      failures.push(`hot query ${query}: p95 ${ms.toFixed(2)} ms, budget ≤ ${budgets.maxHotQueryP95Ms} ms`);
  return failures;
}
