/** Cache: the Redis response cache's hit ratio, errors and circuit. */
import { metrics } from "../app/src/telemetry/catalogue";
import { circuitStateText } from "./circuit";
import { appSelector as app, type DashboardSpec, rateInterval, shareOf } from "./panels";

const cache = metrics.cacheRequests.name;

export function cacheDashboard(): DashboardSpec {
  return {
    uid: "parley-cache",
    title: "Parley / Cache",
    description: "The Redis response cache: hit ratio, look-ups, errors and the Redis circuit breaker.",
    tags: ["parley", "redis"],
    rows: [
      {
        title: "Response cache",
        panels: [
          {
            kind: "timeseries",
            title: "Hit ratio",
            description: "Share of cache look-ups answered from the cache, per cache.",
            unit: "percentunit",
            redBelow: 0.1,
            min: 0,
            max: 1,
            queries: [
              { expr: shareOf(cache, "cache", app, 'result="hit"', rateInterval), legend: "{{cache}}" },
            ],
          },
          {
            kind: "timeseries",
            title: "Look-ups by result",
            description: "Cache look-ups per second by cache and result (hit, miss, error).",
            unit: "ops",
            queries: [
              {
                expr: `sum by (cache, result) (rate(${cache}{${app}}[${rateInterval}]))`,
                legend: "{{cache}} {{result}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Error ratio",
            description:
              "Share of cache look-ups that failed (Redis unreachable or erroring); replies are then generated.",
            unit: "percentunit",
            redAbove: 0.01,
            queries: [
              { expr: shareOf(cache, "cache", app, 'result="error"', rateInterval), legend: "{{cache}}" },
            ],
          },
          {
            kind: "stat",
            title: "Redis circuit",
            description:
              "Circuit breaker in front of Redis (closed, half-open or open: calls short-circuited).",
            unit: "none",
            width: 24,
            valueText: circuitStateText,
            queries: [
              {
                expr: `max(${metrics.circuitState.name}{${app}, dependency="redis"})`,
                legend: "redis",
              },
            ],
          },
        ],
      },
    ],
  };
}
