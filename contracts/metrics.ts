/**
 * The metric catalogue: the single source of metric names and label names for the app, the alert
 * rules, the dashboards and the HPA's custom metric; each of them imports the names from here.
 */
export const metrics = {
  httpRequests: {
    name: "parley_http_requests_total",
    type: "counter",
    help: "HTTP requests served, by route template and status code.",
    labels: ["method", "route", "status_code"],
  },
  httpRequestDuration: {
    name: "parley_http_request_duration_seconds",
    type: "histogram",
    help: "HTTP request duration in seconds, by route template and status code.",
    labels: ["method", "route", "status_code"],
  },
  aiResponseDuration: {
    name: "parley_ai_response_duration_seconds",
    type: "histogram",
    help: "Time for the AI provider to produce a full reply, in seconds.",
    labels: ["provider", "model", "outcome"],
  },
  aiTokens: {
    name: "parley_ai_tokens_total",
    type: "counter",
    help: "Tokens exchanged with the AI provider.",
    labels: ["provider", "model", "kind"],
  },
  aiCost: {
    name: "parley_ai_cost_usd_total",
    type: "counter",
    help: "Spend on AI provider replies in US dollars, priced with the dated price table (app/src/ai/prices.ts).",
    labels: ["organization", "provider", "model"],
  },
  cacheRequests: {
    name: "parley_cache_requests_total",
    type: "counter",
    help: "Cache look-ups by cache and result (hit, miss, error).",
    labels: ["cache", "result"],
  },
  dbPoolConnections: {
    name: "parley_db_pool_connections",
    type: "gauge",
    help: "Database pool connections by pool and state (active, idle, waiting).",
    labels: ["pool", "state"],
  },
  dbPoolMaxConnections: {
    name: "parley_db_pool_max_connections",
    type: "gauge",
    help: "Configured maximum connections of each database pool.",
    labels: ["pool"],
  },
  dbQueryDuration: {
    name: "parley_db_query_duration_seconds",
    type: "histogram",
    help: "Database query duration in seconds, by pool and operation.",
    labels: ["pool", "operation"],
  },
  dbReplicaLag: {
    name: "parley_db_replica_lag_seconds",
    type: "gauge",
    help: "Replication lag of each read replica, in seconds.",
    labels: ["replica"],
  },
  activeConversations: {
    name: "parley_active_conversations",
    type: "gauge",
    help: "Conversations with a message in the last 5 minutes.",
    labels: [],
  },
  rateLimited: {
    name: "parley_rate_limited_total",
    type: "counter",
    help: "Requests rejected by a rate limiter.",
    labels: ["limiter"],
  },
  rateLimitFailOpen: {
    name: "parley_rate_limit_fail_open_total",
    type: "counter",
    help: "Requests let through unchecked because the rate limiter's Redis was unavailable.",
    labels: ["limiter"],
  },
  circuitState: {
    name: "parley_circuit_state",
    type: "gauge",
    help: "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.",
    labels: ["dependency"],
  },
  buildInfo: {
    name: "parley_build_info",
    type: "gauge",
    help: "Always 1; labelled with the running build's version and commit.",
    labels: ["version", "commit"],
  },
} as const;

export type MetricKey = keyof typeof metrics;

/** Values of `parley_circuit_state`. */
export const circuitStateValue = { closed: 0, halfOpen: 1, open: 2 } as const;

/** The scrape job name, the same locally and in the cluster (the Service is named after it). */
export const scrapeJob = "parley";

/** The per-pod request rate the HPA scales on, exposed by prometheus-adapter as a custom metric. */
export const hpaRequestRateMetric = "parley_http_requests_per_second";
