/**
 * The Prometheus rules: SLO recording rules and burn-rate alerts generated from ./slo.ts, and the
 * symptom alerts named in DESIGN.md. Plain data: ./render.ts turns it into a rule file.
 */
import { metrics, scrapeJob } from "../app/src/telemetry/catalogue";
import { aiSpendRules } from "./ai-spend";
import { runbookUrl } from "./runbook";
import {
  burnRateWindows,
  errorBudget,
  errorRatioRecord,
  latencyTarget,
  nonStreamingRate,
  recordedWindows,
  type Slo,
  slos,
  sloWindow,
} from "./slo";

export type Severity = "critical" | "warning" | "info";

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  rules: Array<RecordingRule | AlertingRule>;
}

export interface RuleFile {
  groups: RuleGroup[];
}

/**
 * A symptom alert is `measure condition`: the measure alone is a query that returns the value the
 * alert compares (the live check runs it), and its description quotes that value.
 */
export interface SymptomAlert {
  alert: string;
  measure: string;
  condition: string;
  for: string;
  severity: Severity;
  summary: string;
  description: string;
}

const job = `job="${scrapeJob}"`;
const rateWindow = "5m";

const round = (value: number) => Number(value.toPrecision(6));

export function sloRecordingRules(): RecordingRule[] {
  return slos.flatMap((slo) =>
    recordedWindows.map((window) => ({
      record: errorRatioRecord(window),
      expr: slo.errorRatio(window),
      labels: { slo: slo.name },
    })),
  );
}

function burnRateAlert(slo: Slo, severity: "critical" | "warning"): AlertingRule {
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

const ai = metrics.aiResponseDuration.name;
const cache = metrics.cacheRequests.name;
const pool = metrics.dbPoolConnections.name;
const poolMax = metrics.dbPoolMaxConnections.name;

/** Per (namespace, cache): the share of look-ups that hit; 0 while a cache has had no hit yet. */
const cacheHitRatio = (window: string) => {
  const total = `sum by (namespace, cache) (rate(${cache}{${job}}[${window}]))`;
  const hits = `sum by (namespace, cache) (rate(${cache}{${job}, result="hit"}[${window}]))`;
  return `(${hits} or ${total} * 0) / ${total}`;
};

export const symptomAlerts: readonly SymptomAlert[] = [
  {
    alert: "ParleyHighErrorRate",
    measure: `${errorRatioRecord(rateWindow)}{slo="availability"}`,
    condition: "> 0.05",
    for: "5m",
    severity: "critical",
    summary: "More than 5% of Parley API requests fail with a 5xx.",
    description:
      "{{ $value | humanizePercentage }} of API requests in {{ $labels.namespace }} answered 5xx over the last 5 minutes.",
  },
  {
    alert: "ParleyHighLatencyP95",
    measure:
      `histogram_quantile(${latencyTarget.quantile}, sum by (namespace, le) ` +
      `(${nonStreamingRate("bucket", rateWindow)}))`,
    condition: `> ${latencyTarget.thresholdSeconds}`,
    for: "10m",
    severity: "warning",
    summary: `Parley API p95 latency is above its ${latencyTarget.thresholdSeconds} s target.`,
    description:
      "95th percentile of non-streaming API request duration in {{ $labels.namespace }} is {{ $value | humanizeDuration }} " +
      `(target ${latencyTarget.thresholdSeconds} s).`,
  },
  {
    alert: "ParleyAISlow",
    measure: `histogram_quantile(0.95, sum by (namespace, provider, model, le) (rate(${ai}_bucket{${job}}[${rateWindow}])))`,
    condition: "> 10",
    for: "10m",
    severity: "warning",
    summary: "The AI provider takes more than 10 s (p95) to reply.",
    description:
      "p95 reply time of {{ $labels.provider }}/{{ $labels.model }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }}.",
  },
  {
    alert: "ParleyDBPoolSaturated",
    measure: `${pool}{${job}, state="active"} / ignoring (state) ${poolMax}{${job}}`,
    condition: "> 0.9",
    for: "5m",
    severity: "warning",
    summary: "A Parley database pool is more than 90% in use.",
    description:
      "The {{ $labels.pool }} pool of {{ $labels.instance }} in {{ $labels.namespace }} has {{ $value | humanizePercentage }} of its connections active.",
  },
  {
    alert: "ParleyReplicaLagHigh",
    measure: `max by (namespace, replica) (${metrics.dbReplicaLag.name}{${job}})`,
    condition: "> 30",
    for: "5m",
    severity: "warning",
    summary: "A PostgreSQL read replica is more than 30 s behind the primary.",
    description:
      "Replica {{ $labels.replica }} in {{ $labels.namespace }} lags {{ $value | humanizeDuration }}.",
  },
  {
    alert: "ParleyCacheHitRateLow",
    measure: cacheHitRatio("15m"),
    condition: "< 0.1",
    for: "30m",
    severity: "info",
    summary: "The Parley response cache answers less than 10% of look-ups.",
    description:
      "Cache {{ $labels.cache }} in {{ $labels.namespace }} hit {{ $value | humanizePercentage }} of look-ups over 15 minutes.",
  },
  {
    alert: "ParleyCircuitOpen",
    measure: `max by (namespace, dependency) (${metrics.circuitState.name}{${job}})`,
    condition: "== 2",
    for: "1m",
    severity: "warning",
    summary: "A Parley circuit breaker is open: a dependency is failing and calls to it are short-circuited.",
    description:
      "The circuit to {{ $labels.dependency }} in {{ $labels.namespace }} has been open (state {{ $value }}) for over a minute.",
  },
  {
    alert: "ParleyTargetDown",
    measure: `sum by (namespace, job) (up{${job}})`,
    condition: "== 0",
    for: "2m",
    severity: "critical",
    summary: "Every Parley target is down: Prometheus cannot scrape a single instance.",
    description:
      "No Parley instance in {{ $labels.namespace }} answers its metrics scrape ({{ $value }} up); the service is likely down.",
  },
  {
    alert: "ParleyTargetDown",
    measure: `up{${job}}`,
    condition: "== 0",
    for: "5m",
    severity: "warning",
    summary: "A Parley instance cannot be scraped.",
    description:
      "Prometheus cannot scrape {{ $labels.instance }} in {{ $labels.namespace }} (up = {{ $value }}).",
  },
  {
    alert: "ParleyPodCPUHigh",
    // Node.js runs the request path on one thread: near one core means the event loop is saturated.
    measure: `rate(process_cpu_seconds_total{${job}}[${rateWindow}])`,
    condition: "> 0.9",
    for: "15m",
    severity: "warning",
    summary: "A Parley process uses more than 0.9 CPU cores: its event loop is close to saturation.",
    description:
      '{{ $labels.instance }} in {{ $labels.namespace }} uses {{ $value | printf "%.2f" }} CPU cores.',
  },
  {
    alert: "ParleyPodMemoryHigh",
    measure:
      `max by (namespace, pod) (container_memory_working_set_bytes{container="${scrapeJob}"}) ` +
      `/ max by (namespace, pod) (kube_pod_container_resource_limits{container="${scrapeJob}", resource="memory"})`,
    condition: "> 0.9",
    for: "10m",
    severity: "warning",
    summary: "A Parley pod uses more than 90% of its memory limit.",
    description:
      "Pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its memory limit.",
  },
  {
    alert: "ParleyHPAMaxedOut",
    measure:
      `kube_horizontalpodautoscaler_status_current_replicas{horizontalpodautoscaler="${scrapeJob}"} ` +
      "/ on (namespace, horizontalpodautoscaler) " +
      `kube_horizontalpodautoscaler_spec_max_replicas{horizontalpodautoscaler="${scrapeJob}"}`,
    condition: ">= 1",
    for: "15m",
    severity: "warning",
    summary: "The Parley HPA has been at its maximum replica count for 15 minutes.",
    description:
      "HPA {{ $labels.horizontalpodautoscaler }} in {{ $labels.namespace }} runs at {{ $value | humanizePercentage }} of its maximum replicas.",
  },
  {
    alert: "ParleyNodeDiskLow",
    measure:
      'node_filesystem_avail_bytes{fstype=~"ext4|xfs"} / node_filesystem_size_bytes{fstype=~"ext4|xfs"}',
    condition: "< 0.1",
    for: "10m",
    severity: "warning",
    summary: "A node has less than 10% disk space left.",
    description:
      "{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} of its space free.",
  },
];

function symptomRule(symptom: SymptomAlert): AlertingRule {
  return {
    alert: symptom.alert,
    expr: `${symptom.measure} ${symptom.condition}`,
    for: symptom.for,
    labels: { severity: symptom.severity },
    annotations: {
      summary: symptom.summary,
      description: symptom.description,
      runbook_url: runbookUrl(symptom.alert),
    },
  };
}

/** Stack-specific inputs of the rules. */
export interface RuleOptions {
  /** The stack's monthly AI budget in USD (default: alerts/ai-spend.ts). */
  aiMonthlyBudgetUsd?: number;
}

/** The rule file Prometheus loads (locally) and the PrometheusRule carries (in the cluster). */
export function ruleFile(options: RuleOptions = {}): RuleFile {
  return {
    groups: [
      { name: "parley-slo-recording", rules: sloRecordingRules() },
      {
        name: "parley-slo-burn-rate",
        rules: slos.flatMap((slo) => [burnRateAlert(slo, "critical"), burnRateAlert(slo, "warning")]),
      },
      { name: "parley-symptoms", rules: symptomAlerts.map(symptomRule) },
      aiSpendRules(options.aiMonthlyBudgetUsd),
    ],
  };
}
