/**
 * The SLO recording rules: each objective's error ratio over every window a burn-rate alert reads,
 * its bad and eligible request rates, and from those the `sloWindow` ratio and the budget left.
 */
import {
  errorBudget,
  errorRatio,
  errorRatioRecord,
  recordedWindows,
  sliRateWindow,
  sliRecords,
  slos,
  sloWindow,
  sloWindowEvaluationInterval,
} from "../config/slo";
import type { RecordingRule, RuleGroup } from "../types";

/** The error ratios the burn-rate alerts read, and the rates the long-window figures sum up. */
export function sloRecordingRules(): RecordingRule[] {
  return slos.flatMap((slo) => {
    const labels = { slo: slo.name };
    const eligible = slo.eligibleRate(sliRateWindow);
    return [
      ...recordedWindows.map((window) => ({
        record: errorRatioRecord(window),
        expr: errorRatio(slo, window),
        labels,
      })),
      { record: sliRecords.badRate, expr: `${slo.badRate(sliRateWindow)} or ${eligible} * 0`, labels },
      { record: sliRecords.eligibleRate, expr: eligible, labels },
    ];
  });
}

/**
 * The `sloWindow` error ratio and the budget left, from the recorded rates (a slower group: each run
 * reads 30 days of them). Dashboards read these series instead of computing raw 30-day rates.
 */
export function sloWindowRules(): RecordingRule[] {
  return slos.flatMap((slo) => {
    const labels = { slo: slo.name };
    const selector = `{slo="${slo.name}"}`;
    return [
      {
        record: errorRatioRecord(sloWindow),
        expr:
          `sum_over_time(${sliRecords.badRate}${selector}[${sloWindow}]) ` +
          `/ sum_over_time(${sliRecords.eligibleRate}${selector}[${sloWindow}])`,
        labels,
      },
      {
        record: sliRecords.budgetRemaining,
        expr: `1 - ${errorRatioRecord(sloWindow)}${selector} / ${errorBudget(slo)}`,
        labels,
      },
    ];
  });
}

export function sloRuleGroups(): RuleGroup[] {
  return [
    { name: "parley-slo-recording", rules: sloRecordingRules() },
    { name: "parley-slo-window", interval: sloWindowEvaluationInterval, rules: sloWindowRules() },
  ];
}
