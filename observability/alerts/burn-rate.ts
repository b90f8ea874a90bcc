/**
 * Multi-window multi-burn-rate alerts, one critical (paging) and one warning (ticket) per objective,
 * reading the error ratios recorded by observability/rules/slo.ts.
 */
import { runbookUrl } from "../config/runbook";
import { burnRateWindows, errorBudget, errorRatioRecord, type Slo, slos, sloWindow } from "../config/slo";
import type { AlertingRule, RuleGroup } from "../types";

const round = (value: number) => Number(value.toPrecision(6));

export function burnRateAlert(slo: Slo, severity: "critical" | "warning"): AlertingRule {
  const windows = burnRateWindows.filter((window) => window.severity === severity);
  const budget = errorBudget(slo);
  const ratio = (window: string) => `${errorRatioRecord(window)}{slo="${slo.name}"}`;
  const expr = windows
    .map(({ long, short, burnRate }) => {
      const threshold = round(burnRate * budget);
      return `(${ratio(long)} > ${threshold} and ${ratio(short)} > ${threshold})`;
    })
    .join("\nor\n");
  const pairs = windows.map((w) => `${w.burnRate}x over ${w.long} and ${w.short}`).join(", or ");
  const action = severity === "critical" ? "paging" : "ticket";
  return {
    alert: slo.alert,
    expr,
    for: severity === "critical" ? "2m" : "15m",
    labels: { severity, slo: slo.name },
    annotations: {
      summary: `Parley is burning its ${slo.name} error budget too fast (${action}).`,
      description:
        `Objective: ${slo.description} In {{ $labels.namespace }} the ${sloWindow} error budget ` +
        `(${round(budget * 100)}%) is burning at ${pairs}; error ratio over the long window: ` +
        "{{ $value | humanizePercentage }}.",
      runbook_url: runbookUrl(slo.alert),
    },
  };
}

export function burnRateRules(): RuleGroup {
  return {
    name: "parley-slo-burn-rate",
    rules: slos.flatMap((slo) => [burnRateAlert(slo, "critical"), burnRateAlert(slo, "warning")]),
  };
}
