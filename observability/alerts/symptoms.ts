/**
 * The symptom alerts: what users or operators would notice (errors, latency, a slow AI provider,
 * saturated pools, replica lag, cache misses, open circuits, missing targets or replicas, resource
 * pressure, the data stores' exporters and CloudWatch). Each is `measure condition`.
 */
import { metrics, scrapeJob } from "../../contracts/metrics";
import {
  appContainer as container,
  appJob as job,
  rateWindow,
  type Severity,
  thresholds,
} from "../config/alerting";
import { runbookUrl } from "../config/runbook";
import { errorRatioRecord, latencyTarget, nonStreamingRate } from "../config/slo";
import type { AlertingRule, RuleGroup } from "../types";

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

const ai = metrics.aiResponseDuration.name;
const cache = metrics.cacheRequests.name;
const pool = metrics.dbPoolConnections.name;
const poolMax = metrics.dbPoolMaxConnections.name;
const lag = metrics.dbReplicaLag.name;
const circuit = metrics.circuitState.name;

/** Per (namespace, cache): the share of look-ups that hit; 0 while a cache has had no hit yet. */
const cacheHitRatio = (window: string) => {
  const total = `sum by (namespace, cache) (rate(${cache}{${job}}[${window}]))`;
  const hits = `sum by (namespace, cache) (rate(${cache}{${job}, result="hit"}[${window}]))`;
  return `(${hits} or ${total} * 0) / ${total}`;
};

/** The Parley container's usage of a resource over its limit, by pod (cAdvisor and kube-state-metrics). */
const ofLimit = (usage: string, resource: "cpu" | "memory") =>
  `${usage} / max by (namespace, pod) (kube_pod_container_resource_limits{${container}, resource="${resource}"})`;

/**
 * The lowest circuit state of each breaker over the window, worst instance first: at least 1 when it
 * has not been closed once in the window. A breaker cycling open → half-open → open (a failing or
 * hanging dependency: the half-open probe fails or hangs until its timeout) never resets it.
 */
const circuitNotClosed = (dependency: string) =>
  `max by (namespace, dependency) (min_over_time(${circuit}{${job}, ${dependency}}[2m]))`;

/** A ratio as the summaries say it: 0.05 → "5%". */
const percent = (ratio: number) => `${Number((ratio * 100).toPrecision(6))}%`;

const errorRateMeasure = `${errorRatioRecord(rateWindow)}{slo="availability"}`;
const errorRateDescription =
  "{{ $value | humanizePercentage }} of API requests in {{ $labels.namespace }} answered 5xx over the last 5 minutes.";

export const symptomAlerts: readonly SymptomAlert[] = [
  {
    alert: "ParleyHighErrorRate",
    measure: errorRateMeasure,
    condition: `> ${thresholds.errorRatio.critical}`,
    for: "5m",
    severity: "critical",
    summary: `More than ${percent(thresholds.errorRatio.critical)} of Parley API requests fail with a 5xx.`,
    description: errorRateDescription,
  },
  {
    alert: "ParleyHighErrorRate",
    measure: errorRateMeasure,
    condition: `> ${thresholds.errorRatio.warning}`,
    for: "10m",
    severity: "warning",
    summary: `More than ${percent(thresholds.errorRatio.warning)} of Parley API requests fail with a 5xx.`,
    description: errorRateDescription,
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
    // Calls short-circuited by an open breaker take no time: counting them would hide a hanging provider.
    measure: `histogram_quantile(0.9, sum by (namespace, provider, model, le) (rate(${ai}_bucket{${job}, outcome!="circuit_open"}[${rateWindow}])))`,
    condition: `> ${thresholds.aiP90Seconds}`,
    for: "10m",
    severity: "warning",
    summary: `The AI provider takes more than ${thresholds.aiP90Seconds} s (p90) to reply.`,
    description:
      "p90 reply time of {{ $labels.provider }}/{{ $labels.model }} in {{ $labels.namespace }} is {{ $value | humanizeDuration }}.",
  },
  {
    alert: "ParleyDBPoolSaturated",
    measure: `${pool}{${job}, state="active"} / ignoring (state) ${poolMax}{${job}}`,
    condition: `> ${thresholds.dbPoolInUse}`,
    for: "5m",
    severity: "warning",
    summary: `A Parley database pool is more than ${percent(thresholds.dbPoolInUse)} in use.`,
    description:
      "The {{ $labels.pool }} pool of {{ $labels.instance }} in {{ $labels.namespace }} has {{ $value | humanizePercentage }} of its connections active.",
  },
  {
    alert: "ParleyReplicaLagHigh",
    measure: `max by (namespace, replica) (${lag}{${job}})`,
    condition: `> ${thresholds.replicaLagSeconds}`,
    for: "5m",
    severity: "warning",
    summary: `A PostgreSQL read replica is more than ${thresholds.replicaLagSeconds} s behind the primary.`,
    description:
      "Replica {{ $labels.replica }} in {{ $labels.namespace }} lags {{ $value | humanizeDuration }}.",
  },
  {
    alert: "ParleyReplicaLagUnknown",
    // Per instance with a replica pool: how many lag series it reports (0 when the series vanished).
    measure:
      `(count by (namespace, instance) (${lag}{${job}}) ` +
      `or on (namespace, instance) max by (namespace, instance) (${poolMax}{${job}, pool="replica"}) * 0)`,
    condition: "== 0",
    for: "5m",
    severity: "warning",
    summary: "A Parley instance reads from a replica but reports no replica lag.",
    description:
      "{{ $labels.instance }} in {{ $labels.namespace }} has a replica pool and {{ $value }} replica lag series: how stale its reads are is unknown.",
  },
  {
    alert: "ParleyCacheHitRateLow",
    measure: cacheHitRatio("15m"),
    condition: `< ${thresholds.cacheHitRatio}`,
    for: "30m",
    severity: "warning",
    summary: `The Parley response cache answers less than ${percent(thresholds.cacheHitRatio)} of look-ups (target 80%).`,
    description:
      "Cache {{ $labels.cache }} in {{ $labels.namespace }} hit {{ $value | humanizePercentage }} of look-ups over 15 minutes.",
  },
  {
    alert: "ParleyCircuitOpen",
    measure: circuitNotClosed('dependency="ai"'),
    condition: ">= 1",
    for: "1m",
    severity: "critical",
    summary: "The AI provider's circuit breaker has not closed for 3 minutes: chat replies fail.",
    description:
      "The circuit to {{ $labels.dependency }} in {{ $labels.namespace }} has stayed open or half-open (lowest state {{ $value }}) for 3 minutes.",
  },
  {
    alert: "ParleyCircuitOpen",
    measure: circuitNotClosed('dependency!="ai"'),
    condition: ">= 1",
    for: "1m",
    severity: "warning",
    summary:
      "A Parley circuit breaker has not closed for 3 minutes: a dependency is failing and calls to it are short-circuited.",
    description:
      "The circuit to {{ $labels.dependency }} in {{ $labels.namespace }} has stayed open or half-open (lowest state {{ $value }}) for 3 minutes.",
  },
  {
    alert: "ParleyTargetDown",
    // `or on () vector(0)`: with no target at all (scaled to 0, namespace deleted, selector broken)
    // there is no `up` series to sum, and the sum alone would be empty instead of 0.
    measure: `(sum by (namespace, job) (up{${job}}) or on () vector(0))`,
    condition: "== 0",
    for: "2m",
    severity: "critical",
    summary:
      "No Parley target is up: Prometheus cannot scrape a single instance, or has none left to scrape.",
    description:
      "{{ $value }} Parley instances{{ with $labels.namespace }} in {{ . }}{{ end }} answer their metrics scrape; the service is likely down (no target at all when no namespace is named).",
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
    alert: "ParleyNoReplicasAvailable",
    // Falls back to 0 when the Deployment's series are gone, but only while kube-state-metrics itself
    // is up (it exports them): a missing Deployment pages, a missing exporter does not.
    measure:
      `(max by (namespace, deployment) (kube_deployment_status_replicas_available{deployment="${scrapeJob}"}) ` +
      'or on () count(up{job="kube-state-metrics"} == 1) * 0)',
    condition: "== 0",
    for: "2m",
    severity: "critical",
    summary: "The Parley Deployment has no available replica, or no longer exists.",
    description:
      "{{ $value }} available Parley replicas{{ with $labels.namespace }} in {{ . }}{{ end }}: nothing serves requests (no Deployment at all when no namespace is named).",
  },
  {
    alert: "ParleyPodCPUHigh",
    measure: ofLimit(
      `sum by (namespace, pod) (rate(container_cpu_usage_seconds_total{${container}}[${rateWindow}]))`,
      "cpu",
    ),
    condition: `> ${thresholds.podCpuOfLimit}`,
    for: "15m",
    severity: "warning",
    summary: `A Parley pod uses more than ${percent(thresholds.podCpuOfLimit)} of its CPU limit.`,
    description:
      "Pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its CPU limit.",
  },
  {
    alert: "ParleyPodMemoryHigh",
    measure: ofLimit(`max by (namespace, pod) (container_memory_working_set_bytes{${container}})`, "memory"),
    condition: `> ${thresholds.podMemoryOfLimit}`,
    for: "10m",
    severity: "warning",
    summary: `A Parley pod uses more than ${percent(thresholds.podMemoryOfLimit)} of its memory limit.`,
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
    condition: `< ${thresholds.nodeDiskFree}`,
    for: "10m",
    severity: "warning",
    summary: `A node has less than ${percent(thresholds.nodeDiskFree)} disk space left.`,
    description:
      "{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} of its space free.",
  },
  // The data stores, through postgres_exporter (against the RDS primary) and redis_exporter
  // (against the ElastiCache primary), deployed with the monitoring stack.
  {
    alert: "ParleyPostgresUnreachable",
    measure: "max by (namespace, instance) (pg_up)",
    condition: "== 0",
    for: "5m",
    severity: "warning",
    summary: "postgres_exporter cannot reach the PostgreSQL primary.",
    description:
      "pg_up of {{ $labels.instance }} in {{ $labels.namespace }} is {{ $value }}: the exporter cannot connect to the database.",
  },
  {
    alert: "ParleyPostgresConnectionsHigh",
    measure:
      "sum by (namespace, instance) (pg_stat_activity_count) " +
      "/ on (namespace, instance) max by (namespace, instance) (pg_settings_max_connections)",
    condition: `> ${thresholds.postgresConnections}`,
    for: "10m",
    severity: "warning",
    summary: `The PostgreSQL primary uses more than ${percent(thresholds.postgresConnections)} of max_connections.`,
    description:
      "{{ $labels.instance }} in {{ $labels.namespace }} has {{ $value | humanizePercentage }} of max_connections in use; new connections (pods, migrations) will soon be refused.",
  },
  {
    alert: "ParleyRedisUnreachable",
    measure: "max by (namespace, instance) (redis_up)",
    condition: "== 0",
    for: "5m",
    severity: "warning",
    summary: "redis_exporter cannot reach the Redis primary.",
    description:
      "redis_up of {{ $labels.instance }} in {{ $labels.namespace }} is {{ $value }}: the exporter cannot connect to Redis.",
  },
  {
    alert: "ParleyRedisMemoryHigh",
    measure:
      "max by (namespace, instance) (redis_memory_used_bytes) " +
      "/ max by (namespace, instance) (redis_memory_max_bytes > 0)",
    condition: `> ${thresholds.redisMemory}`,
    for: "15m",
    severity: "warning",
    summary: `Redis uses more than ${percent(thresholds.redisMemory)} of its maxmemory: it is evicting, or about to.`,
    description:
      "{{ $labels.instance }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its maxmemory.",
  },
  {
    alert: "ParleyRedisEvicting",
    measure: `sum by (namespace, instance) (rate(redis_evicted_keys_total[${rateWindow}]))`,
    condition: "> 0",
    for: "15m",
    severity: "info",
    summary: "Redis is evicting keys: the cache is too small for what it holds.",
    description:
      "{{ $labels.instance }} in {{ $labels.namespace }} evicts {{ $value | humanize }} keys per second.",
  },
  // CloudWatch, through YACE: what only AWS sees of the managed data stores.
  {
    alert: "ParleyRDSReplicaLagHigh",
    measure: "max by (dimension_DBInstanceIdentifier) (aws_rds_replica_lag_average)",
    condition: `> ${thresholds.replicaLagSeconds}`,
    for: "5m",
    severity: "warning",
    summary: `CloudWatch reports an RDS read replica more than ${thresholds.replicaLagSeconds} s behind the primary.`,
    description:
      "RDS replica {{ $labels.dimension_DBInstanceIdentifier }} lags {{ $value | humanizeDuration }} (CloudWatch ReplicaLag).",
  },
  {
    alert: "ParleyRDSCPUHigh",
    measure: "max by (dimension_DBInstanceIdentifier) (aws_rds_cpuutilization_average)",
    condition: `> ${thresholds.rdsCpuPercent}`,
    for: "15m",
    severity: "warning",
    summary: `An RDS instance uses more than ${thresholds.rdsCpuPercent}% CPU.`,
    description:
      'RDS instance {{ $labels.dimension_DBInstanceIdentifier }} uses {{ $value | printf "%.0f" }}% CPU (CloudWatch CPUUtilization).',
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

export function symptomRules(): RuleGroup {
  return { name: "parley-symptoms", rules: symptomAlerts.map(symptomRule) };
}
