/** Service overview: rate, errors and duration (RED) per route, plus the process behind them. */

import { metrics } from "../../contracts/metrics";
import { nonStreamingRate } from "../config/slo";
import { appSelector as app, type DashboardSpec, namespaceSelector, rateInterval, shareOf } from "./panels";

const requests = metrics.httpRequests.name;
/**
 * A quantile of API request duration as the latency SLO counts it: API routes only (no health
 * checks, metrics or static page) and without streamed replies, whose duration is the whole
 * generation.
 */
const apiQuantile = (q: number, by: string[] = []) =>
  `histogram_quantile(${q}, sum by (${[...by, "le"].join(", ")}) ` +
  `(${nonStreamingRate("bucket", rateInterval, { matchers: namespaceSelector })}))`;
/** From the 5xx series themselves: when every request fails there is no non-5xx series to subtract. */
const serverErrors = 'status_code=~"5.."';
const apiOnly = "API requests without streamed replies or health checks, as the latency SLO counts them";

export function overviewDashboard(): DashboardSpec {
  return {
    uid: "parley-overview",
    title: "Parley / Service overview",
    description: "Requests, errors and duration (RED) of the Parley API, by route.",
    tags: ["parley", "red"],
    rows: [
      {
        title: "At a glance",
        panels: [
          {
            kind: "stat",
            title: "Request rate",
            description: "Requests served per second, every route.",
            unit: "reqps",
            width: 6,
            queries: [{ expr: `sum(rate(${requests}{${app}}[${rateInterval}]))` }],
          },
          {
            kind: "stat",
            title: "5xx ratio",
            description: "Share of requests answered with a 5xx status.",
            unit: "percentunit",
            width: 6,
            redAbove: 0.01,
            queries: [
              {
                expr: shareOf(requests, "", app, serverErrors, rateInterval),
              },
            ],
          },
          {
            kind: "stat",
            title: "p95 duration",
            description: `95th percentile request duration of ${apiOnly}.`,
            unit: "s",
            width: 6,
            queries: [{ expr: apiQuantile(0.95) }],
          },
          {
            kind: "stat",
            title: "Instances up",
            description: "Parley instances Prometheus scrapes successfully.",
            unit: "short",
            width: 6,
            queries: [{ expr: `sum(up{${app}})` }],
          },
        ],
      },
      {
        title: "Rate, errors, duration by route",
        panels: [
          {
            kind: "timeseries",
            title: "Requests by route",
            description: "Requests per second by method and route template.",
            unit: "reqps",
            queries: [
              {
                expr: `sum by (method, route) (rate(${requests}{${app}}[${rateInterval}]))`,
                legend: "{{method}} {{route}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "5xx ratio by route",
            description: "Share of each route's requests answered with a 5xx status.",
            unit: "percentunit",
            redAbove: 0.01,
            queries: [
              {
                expr: shareOf(requests, "method, route", app, serverErrors, rateInterval),
                legend: "{{method}} {{route}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "p95 duration by route",
            description: `95th percentile request duration by method and route template, of ${apiOnly}.`,
            unit: "s",
            queries: [
              {
                expr: apiQuantile(0.95, ["method", "route"]),
                legend: "{{method}} {{route}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Responses by status code",
            description: "Responses per second by HTTP status code.",
            unit: "reqps",
            queries: [
              {
                expr: `sum by (status_code) (rate(${requests}{${app}}[${rateInterval}]))`,
                legend: "{{status_code}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Duration percentiles",
            description: `p50, p95 and p99 request duration of ${apiOnly}.`,
            unit: "s",
            queries: [0.5, 0.95, 0.99].map((q) => ({
              expr: apiQuantile(q),
              legend: `p${q * 100}`,
            })),
          },
          {
            kind: "timeseries",
            title: "Rate-limited requests",
            description: "Requests rejected by each rate limiter, per second.",
            unit: "reqps",
            queries: [
              {
                expr: `sum by (limiter) (rate(${metrics.rateLimited.name}{${app}}[${rateInterval}]))`,
                legend: "{{limiter}}",
                onlyAfter: "a request is rate limited",
              },
            ],
          },
        ],
      },
      {
        title: "Process",
        panels: [
          {
            kind: "timeseries",
            title: "Active conversations",
            description: "Conversations with a message in the last 5 minutes.",
            unit: "short",
            queries: [{ expr: `max(${metrics.activeConversations.name}{${app}})`, legend: "active" }],
          },
          {
            kind: "timeseries",
            title: "CPU per instance",
            description: "CPU cores used by each Parley process; near 1 its event loop saturates.",
            unit: "short",
            redAbove: 0.9,
            queries: [
              { expr: `rate(process_cpu_seconds_total{${app}}[${rateInterval}])`, legend: "{{instance}}" },
            ],
          },
          {
            kind: "timeseries",
            title: "Memory per instance",
            description: "Resident memory of each Parley process.",
            unit: "bytes",
            queries: [{ expr: `process_resident_memory_bytes{${app}}`, legend: "{{instance}}" }],
          },
          {
            kind: "timeseries",
            title: "Event loop lag p99",
            description: "99th percentile Node.js event loop delay of each process.",
            unit: "s",
            queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${app}}`, legend: "{{instance}}" }],
          },
          {
            kind: "stat",
            title: "Running builds",
            description: "Instances per running version and commit (parley_build_info).",
            unit: "short",
            width: 16,
            queries: [
              {
                expr: `count by (version, commit) (${metrics.buildInfo.name}{${app}})`,
                legend: "{{version}} ({{commit}})",
              },
            ],
          },
        ],
      },
    ],
  };
}
