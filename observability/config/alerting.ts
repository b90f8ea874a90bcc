/**
 * What the rules select and how alerts are routed: the app's scrape job and container, the default
 * rate window, the severities and the receiver each one goes to, and the heartbeat alert. The
 * receivers' integrations and secrets are in observability/alertmanager.
 */
import { scrapeJob } from "../../app/src/telemetry/catalogue";

/** Matcher of the app's own series: Prometheus scrapes it as job `parley`. */
export const appJob = `job="${scrapeJob}"`;

/** Matcher of the app's container in cAdvisor and kube-state-metrics series. */
export const appContainer = `container="${scrapeJob}"`;

/** The rate window of the symptom alerts and of the shortest recorded error ratio. */
export const rateWindow = "5m";

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
