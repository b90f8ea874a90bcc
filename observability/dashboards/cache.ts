/** Cache: the Redis response cache's hit ratio, errors and circuit. */
import { metrics } from "../../contracts/metrics";
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
      {
        title: "ElastiCache (redis_exporter)",
        panels: [
          {
            kind: "timeseries",
            title: "Redis memory",
            description: "Memory used over maxmemory on the Redis primary; near 1 it evicts cached replies.",
            unit: "percentunit",
            redAbove: 0.9,
            min: 0,
            max: 1,
            queries: [
              {
                expr: "max by (instance) (redis_memory_used_bytes) / max by (instance) (redis_memory_max_bytes > 0)",
                legend: "{{instance}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Evictions",
            description: "Keys evicted per second to make room (cached replies dropped before they expire).",
            unit: "ops",
            redAbove: 0,
            queries: [
              {
                expr: `sum by (instance) (rate(redis_evicted_keys_total[${rateInterval}]))`,
                legend: "{{instance}}",
              },
            ],
          },
          {
            kind: "stat",
            title: "Redis reachable",
            description: "Whether redis_exporter can connect to the Redis primary (1 yes, 0 no).",
            unit: "none",
            redBelow: 1,
            queries: [{ expr: "max by (instance) (redis_up)", legend: "{{instance}}" }],
          },
        ],
      },
    ],
  };
}
