/** SLOs and error budgets, generated from the SLO module (observability/config/slo.ts). */
import {
  burnRateWindows,
  errorBudget,
  errorRatioRecord,
  latencyTarget,
  nonStreamingRate,
  recordedWindows,
  type Slo,
  sliRecords,
  slos,
  sloWindow,
} from "../config/slo";
import { type DashboardSpec, namespaceSelector, type RowSpec, rateInterval } from "./panels";

const percent = (ratio: number) => `${Number((ratio * 100).toPrecision(6))}%`;

function sloRow(slo: Slo): RowSpec {
  const budget = errorBudget(slo);
  const selector = `{slo="${slo.name}", ${namespaceSelector}}`;
  const recorded = (window: string) => `${errorRatioRecord(window)}${selector}`;
  const fastest = Math.max(...burnRateWindows.map((window) => window.burnRate));
  return {
    title: `${slo.name} — objective ${percent(slo.objective)}`,
    panels: [
      {
        kind: "stat",
        title: `${slo.name} SLI (${sloWindow})`,
        description: `${slo.description} Share of good requests over the last ${sloWindow} (recorded every few minutes); objective ${percent(slo.objective)}.`,
        unit: "percentunit",
        width: 6,
        height: 8,
        redBelow: slo.objective,
        queries: [{ expr: `1 - ${recorded(sloWindow)}`, legend: "{{namespace}}" }],
      },
      {
        kind: "stat",
        title: `${slo.name} error budget remaining (${sloWindow})`,
        description: `Share of the ${sloWindow} error budget (${percent(budget)} of requests) not yet spent; below 0 the objective is missed.`,
        unit: "percentunit",
        width: 6,
        height: 8,
        redBelow: 0,
        queries: [{ expr: `${sliRecords.budgetRemaining}${selector}`, legend: "{{namespace}}" }],
      },
      {
        kind: "timeseries",
        title: `${slo.name} burn rate`,
        description:
          `How many times faster than sustainable the budget burns, per window (1 = spent exactly in ${sloWindow}). ` +
          `Pages at ${fastest}x over 1h and 5m; see the runbook for every pair.`,
        unit: "short",
        width: 12,
        redAbove: 1,
        queries: recordedWindows.map((window) => ({
          expr: `${recorded(window)} / ${budget}`,
          legend: `${window} {{namespace}}`,
        })),
      },
    ],
  };
}

export function sloDashboard(): DashboardSpec {
  const p95 =
    `histogram_quantile(${latencyTarget.quantile}, sum by (namespace, le) ` +
    `(${nonStreamingRate("bucket", rateInterval, { matchers: namespaceSelector })}))`;
  return {
    uid: "parley-slo",
    title: "Parley / SLOs and error budget",
    description: "Service level indicators, error budgets and burn rates of the Parley API objectives.",
    tags: ["parley", "slo"],
    rows: [
      ...slos.map(sloRow),
      {
        title: "Latency target",
        panels: [
          {
            kind: "timeseries",
            title: `p${latencyTarget.quantile * 100} duration vs the ${latencyTarget.thresholdSeconds} s target`,
            description: `p${latencyTarget.quantile * 100} of non-streaming API requests; the objective is under ${latencyTarget.thresholdSeconds} s.`,
            unit: "s",
            width: 24,
            redAbove: latencyTarget.thresholdSeconds,
            queries: [{ expr: p95, legend: "p95 {{namespace}}" }],
          },
        ],
      },
    ],
  };
}
