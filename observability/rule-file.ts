/** The rule file Prometheus loads (locally) and the PrometheusRule carries (in the cluster). */
import { aiSpendRules } from "./alerts/ai-spend";
import { burnRateRules } from "./alerts/burn-rate";
import { symptomRules } from "./alerts/symptoms";
import { watchdogRules } from "./alerts/watchdog";
import { sloRuleGroups } from "./rules/slo";
import type { RuleFile } from "./types";

/** Stack-specific inputs of the rules. */
export interface RuleOptions {
  /** The stack's monthly AI budget in USD (default: `defaultAiMonthlyBudgetUsd`, ./alerts/ai-spend.ts). */
  aiMonthlyBudgetUsd?: number;
}

export function ruleFile(options: RuleOptions = {}): RuleFile {
  return {
    groups: [
      ...sloRuleGroups(),
      burnRateRules(),
      symptomRules(),
      aiSpendRules(options.aiMonthlyBudgetUsd),
      watchdogRules(),
    ],
  };
}
