/**
 * The service level objectives: the one module the SLO recording rules, the burn-rate alerts and the
 * SLO dashboard are generated from.
 */
import { metrics } from "../../contracts/metrics";
import { appJob as job } from "./alerting";

/** The window every objective is measured over (and the error budget is spent in). */
export const sloWindow = "30d";

/**
 * The requests the objectives cover: every `/api/...` route template (the `route` label). Health,
 * readiness, metrics and the static chat page are not part of them.
 */
export const apiRoutePattern = "/api/.+";

/**
 * A streamed reply (`Accept: text/event-stream`) is the only API response whose duration is the whole
 * generation, so the latency objective leaves it out. The API answers a non-streamed message POST
 * with 201 and a streamed one with 200 on the same route: that pair identifies a stream.
 */
export const streamingRequest = {
  method: "POST",
  route: "/api/conversations/:id/messages",
  status_code: "200",
} as const;

export interface Slo {
  /** The `slo` label value of its recording rules and alerts. */
  name: "availability" | "latency";
  /** The alert that fires when the error budget burns too fast. */
  alert: "ParleyAvailabilityBudgetBurn" | "ParleyLatencyBudgetBurn";
  /** Fraction of eligible requests that must be good over the window, e.g. 0.999. */
  objective: number;
  description: string;
  /**
   * PromQL: the per-second rate of bad eligible requests over `window` (e.g. "5m"), by namespace;
   * `matchers` narrow the requests further (e.g. `namespace=~"$namespace"`). Taken from the bad
   * requests' own series, never as "eligible minus good": after a rollout in which every request
   * fails, no good series exists at all, and 1 - good/eligible is empty instead of 1.
   */
  badRate(window: string, matchers?: string): string;
  /** PromQL: the per-second rate of eligible requests over `window`, by namespace. */
  eligibleRate(window: string, matchers?: string): string;
}

/** Matchers of API requests, plus `extra` matchers (a dashboard adds its namespace filter). */
const api = (extra: string) => [job, `route=~"${apiRoutePattern}"`, extra].filter(Boolean).join(", ");
const requests = metrics.httpRequests.name;
const duration = metrics.httpRequestDuration.name;

/** Latency objective threshold: a non-streaming API request is good when faster than this. */
export const latencyThresholdSeconds = 0.5;

/** The dashboard target: 95% of non-streaming API requests under 0.2 s. */
export const latencyTarget = { quantile: 0.95, thresholdSeconds: 0.2 } as const;

const streamingMatchers = Object.entries(streamingRequest)
  .map(([label, value]) => `${label}="${value}"`)
  .join(", ");

/**
 * Rate of a duration series over API requests, without streamed replies: `_count`, or the `_bucket`
 * of requests faster than `le` seconds (every bucket when omitted). `matchers` narrow both sides.
 */
export function nonStreamingRate(
  series: "count" | "bucket",
  window: string,
  { matchers = "", le }: { matchers?: string; le?: number } = {},
): string {
  const bucket = le === undefined ? "" : `le="${le}"`;
  const streamed = [job, matchers, streamingMatchers].filter(Boolean).join(", ");
  return (
    `rate(${duration}_${series}{${api([matchers, bucket].filter(Boolean).join(", "))}}[${window}]) ` +
    `unless on (method, route, status_code) ${duration}_count{${streamed}}`
  );
}

export const slos: readonly Slo[] = [
  {
    name: "availability",
    alert: "ParleyAvailabilityBudgetBurn",
    objective: 0.999,
    description: "99.9% of API requests are answered without a 5xx status.",
    badRate: (window, matchers = "") =>
      `sum by (namespace) (rate(${requests}{${api(matchers)}, status_code=~"5.."}[${window}]))`,
    eligibleRate: (window, matchers = "") =>
      `sum by (namespace) (rate(${requests}{${api(matchers)}}[${window}]))`,
  },
  {
    name: "latency",
    alert: "ParleyLatencyBudgetBurn",
    objective: 0.99,
    description: `99% of non-streaming API requests are answered in under ${latencyThresholdSeconds} s.`,
    // Every bucket of a histogram series exists once the series does: slow = all - fast is never
    // missing a side.
    badRate: (window, matchers = "") =>
      `(sum by (namespace) (${nonStreamingRate("count", window, { matchers })}) ` +
      `- sum by (namespace) (${nonStreamingRate("bucket", window, { matchers, le: latencyThresholdSeconds })}))`,
    eligibleRate: (window, matchers = "") =>
      `sum by (namespace) (${nonStreamingRate("count", window, { matchers })})`,
  },
];

/**
 * PromQL: the share of eligible requests that were bad over `window`, by namespace: 0 (not empty)
 * while requests are served and none is bad, since a 5xx series appears only after the first 5xx.
 */
export function errorRatio(slo: Slo, window: string, matchers = ""): string {
  const eligible = slo.eligibleRate(window, matchers);
  return `(${slo.badRate(window, matchers)} or ${eligible} * 0) / ${eligible}`;
}

/** The allowed error ratio of an objective (its error budget over the window). */
export const errorBudget = (slo: Slo): number => Number((1 - slo.objective).toPrecision(6));

/**
 * Multi-window multi-burn-rate alerting (Google SRE workbook, ch. 5) for a 30-day window: an alert
 * fires when both the long and the short window burn faster than `burnRate` times the budget.
 */
export interface BurnRateWindow {
  severity: "critical" | "warning";
  long: string;
  short: string;
  burnRate: number;
}

export const burnRateWindows: readonly BurnRateWindow[] = [
  { severity: "critical", long: "1h", short: "5m", burnRate: 14.4 },
  { severity: "critical", long: "6h", short: "30m", burnRate: 6 },
  { severity: "warning", long: "1d", short: "2h", burnRate: 3 },
  { severity: "warning", long: "3d", short: "6h", burnRate: 1 },
];

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in a Prometheus duration of one unit, such as "30m" or "3d". */
export function durationSeconds(duration: string): number {
  const match = /^(\d+)([smhd])$/.exec(duration);
  if (!match) throw new Error(`duration "${duration}" is not a number followed by one of s, m, h, d`);
  return Number(match[1]) * unitSeconds[match[2]!]!;
}

/** Every window an error ratio is recorded over (those the burn-rate alerts read), shortest first. */
export const recordedWindows: readonly string[] = [
  ...new Set(burnRateWindows.flatMap((window) => [window.short, window.long])),
].sort((a, b) => durationSeconds(a) - durationSeconds(b));

/** Name of the recording rule holding an objective's error ratio over a window. */
export const errorRatioRecord = (window: string): string => `slo:error_ratio:rate${window}`;

/**
 * The window of the per-SLO request and bad-request rates recorded for the long-window figures: the
 * `sloWindow` ratio is the sum of the bad rates over the sum of the eligible rates (a ratio of
 * totals, not an average of ratios), computed from these records instead of raw 30-day rates.
 */
export const sliRateWindow = "5m";

/** Names of the recorded series an objective's long-window figures are computed from and read at. */
export const sliRecords = {
  badRate: `slo:bad_requests:rate${sliRateWindow}`,
  eligibleRate: `slo:requests:rate${sliRateWindow}`,
  /** Share of the `sloWindow` error budget left: 1 untouched, 0 spent, below 0 the objective is missed. */
  budgetRemaining: `slo:error_budget_remaining:ratio${sloWindow}`,
} as const;

/** How often the long-window rules run: a 30-day figure moves slowly, and each run reads 30 days. */
export const sloWindowEvaluationInterval = "5m";
