/**
 * What the rules select and how alerts are routed: the app's scrape job and container, the default
 * rate window, the severities and the receiver each one goes to, and the heartbeat alert. The
 * receivers' integrations and secrets are in observability/alertmanager.
 */
import { scrapeJob } from "../../contracts/metrics";

/** Matcher of the app's own series: Prometheus scrapes it as job `parley`. */
export const appJob = `job="${scrapeJob}"`;

/** Matcher of the app's container in cAdvisor and kube-state-metrics series. */
export const appContainer = `container="${scrapeJob}"`;

/** The rate window of the symptom alerts and of the shortest recorded error ratio. */
export const rateWindow = "5m";

/**
 * The symptom alerts' lines (observability/alerts/symptoms.ts), in the units of their measures:
 * ratios (0.8 is 80%), seconds, percent where CloudWatch reports percent.
 */
export const thresholds = {
  /** Share of API requests answered 5xx over 5 minutes: page above `critical`, ticket above `warning`. */
  errorRatio: { critical: 0.05, warning: 0.01 },
  /** p90 AI provider reply time. */
  aiP90Seconds: 5,
  /** Active connections of a pool over its maximum. */
  dbPoolInUse: 0.8,
  /** Replica lag, as the app measures it and as CloudWatch reports it. */
  replicaLagSeconds: 30,
  /** The response cache's hit ratio over 15 minutes: alert below. */
  cacheHitRatio: 0.5,
  /** The Parley container's CPU and memory use over its limit. */
  podCpuOfLimit: 0.8,
  podMemoryOfLimit: 0.85,
  /** A node filesystem's free space: alert below. */
  nodeDiskFree: 0.1,
  /** PostgreSQL connections over max_connections. */
  postgresConnections: 0.8,
  /** Redis memory over maxmemory. */
  redisMemory: 0.9,
  /** RDS CPUUtilization, percent. */
  rdsCpuPercent: 80,
} as const;

export type Severity = "critical" | "warning" | "info";

/** The receiver each severity is routed to: critical alerts page, warnings open tickets, info stays. */
export const receiverFor: Record<Severity, string> = {
  critical: "page",
  warning: "ticket",
  info: "log-only",
};

/**
 * Always firing while Prometheus evaluates rules and reaches Alertmanager; Alertmanager forwards it
 * to a dead man's switch, which pages when it stops arriving. Its `severity` is `none`: no severity
 * route, inhibition or grouping applies to it.
 */
export const watchdogAlert = "Watchdog";

/** Receives the Watchdog every minute; the service behind it pages when the heartbeats stop. */
export const deadMansSwitchReceiver = "dead-mans-switch";

/** How often the dead man's switch hears the Watchdog: its grace period must be longer. */
export const heartbeatInterval = "1m";
