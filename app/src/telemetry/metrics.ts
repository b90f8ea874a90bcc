/**
 * The app's Prometheus registry: every metric of the catalogue (names imported, never retyped) plus
 * prom-client's default process and Node.js metrics. One instance per running app.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { metrics as catalogue } from "../../../contracts/metrics";

const labels = <K extends keyof typeof catalogue>(key: K) => [...catalogue[key].labels] as string[];

export function createMetrics(build: { version: string; commit: string }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metric = <K extends keyof typeof catalogue>(key: K) => ({
    name: catalogue[key].name,
    help: catalogue[key].help,
    labelNames: labels(key),
    registers,
  });

  // Callbacks that refresh scrape-time gauges (pool statistics) just before each scrape.
  const scrapeHooks: Array<() => void> = [];
  const result = {
    registry,
    beforeScrape: (hook: () => void) => scrapeHooks.push(hook),
    httpRequests: new Counter(metric("httpRequests")),
    httpRequestDuration: new Histogram({
      ...metric("httpRequestDuration"),
      // Edges at the SLO thresholds (0.2 s dashboard target, 0.5 s latency SLO).
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10, 30],
    }),
    aiResponseDuration: new Histogram({
      ...metric("aiResponseDuration"),
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    }),
    aiTokens: new Counter(metric("aiTokens")),
    aiCost: new Counter(metric("aiCost")),
    cacheRequests: new Counter(metric("cacheRequests")),
    dbPoolConnections: new Gauge({
      ...metric("dbPoolConnections"),
      collect() {
        for (const hook of scrapeHooks) hook();
      },
    }),
    dbPoolMaxConnections: new Gauge(metric("dbPoolMaxConnections")),
    dbQueryDuration: new Histogram({
      ...metric("dbQueryDuration"),
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    }),
    dbReplicaLag: new Gauge(metric("dbReplicaLag")),
    activeConversations: new Gauge(metric("activeConversations")),
    rateLimited: new Counter(metric("rateLimited")),
    rateLimitFailOpen: new Counter(metric("rateLimitFailOpen")),
    circuitState: new Gauge(metric("circuitState")),
    buildInfo: new Gauge(metric("buildInfo")),
  };
  result.buildInfo.set({ version: build.version, commit: build.commit }, 1);
  return result;
}

export type Metrics = ReturnType<typeof createMetrics>;
