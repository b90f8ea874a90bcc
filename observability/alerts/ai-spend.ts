/**
 * The AI spend alert: the whole service's AI spend, projected over the current month at the last
 * day's pace, above the stack's monthly AI budget (`parley:aiMonthlyBudgetUsd`, infra/config.ts).
 * The pace is a one-day rate so the daily cycle of traffic does not make every afternoon fire.
 */
import { metrics, scrapeJob } from "../../contracts/metrics";
import { runbookUrl } from "../config/runbook";
import type { AlertingRule, RuleGroup } from "../types";

/** The budget when none is given (the local platform, tests): the plans' projected AI spend per month. */
export const defaultAiMonthlyBudgetUsd = 25_000;

/** USD per month at the last day's spending rate: the alert's measure. */
export const projectedMonthlySpend = `sum by (namespace) (rate(${metrics.aiCost.name}{job="${scrapeJob}"}[1d])) * 86400 * scalar(days_in_month())`;

export function aiSpendRules(monthlyBudgetUsd: number = defaultAiMonthlyBudgetUsd): RuleGroup {
  const alert: AlertingRule = {
    alert: "ParleyAISpendOverBudget",
    expr: `${projectedMonthlySpend} > ${monthlyBudgetUsd}`,
    for: "1h",
    labels: { severity: "warning" },
    annotations: {
      summary: `Parley's AI spend is on course to exceed its monthly budget of ${monthlyBudgetUsd} USD.`,
      description:
        "At the last day's pace, AI spend in {{ $labels.namespace }} comes to {{ $value | humanize }} USD this month " +
        `(budget ${monthlyBudgetUsd} USD).`,
      runbook_url: runbookUrl("ParleyAISpendOverBudget"),
    },
  };
  return { name: "parley-ai-spend", rules: [alert] };
}
