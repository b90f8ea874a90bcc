/** Database: connection pools, query latency and replica lag. */
import { metrics } from "../../contracts/metrics";
import { appSelector as app, type DashboardSpec, quantile, rateInterval } from "./panels";

const pool = metrics.dbPoolConnections.name;
const poolMax = metrics.dbPoolMaxConnections.name;
const query = metrics.dbQueryDuration.name;

export function databaseDashboard(): DashboardSpec {
  return {
    uid: "parley-database",
    title: "Parley / Database",
    description: "PostgreSQL as Parley sees it: primary and replica pools, query latency, replica lag.",
    tags: ["parley", "postgresql"],
    rows: [
      {
        title: "Connection pools",
        panels: [
          {
            kind: "timeseries",
            title: "Pool utilisation",
            description: "Active connections over the pool maximum, per pool (summed over instances).",
            unit: "percentunit",
            redAbove: 0.9,
            min: 0,
            max: 1,
            queries: [
              {
                expr: `sum by (pool) (${pool}{${app}, state="active"}) / sum by (pool) (${poolMax}{${app}})`,
                legend: "{{pool}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Connections by state",
            description: "Pool connections by pool and state (active, idle, waiting clients).",
            unit: "short",
            queries: [{ expr: `sum by (pool, state) (${pool}{${app}})`, legend: "{{pool}} {{state}}" }],
          },
          {
            kind: "timeseries",
            title: "Clients waiting for a connection",
            description: "Queries queued because their pool had no free connection.",
            unit: "short",
            redAbove: 1,
            queries: [{ expr: `sum by (pool) (${pool}{${app}, state="waiting"})`, legend: "{{pool}}" }],
          },
        ],
      },
      {
        title: "Queries and replication",
        panels: [
          {
            kind: "timeseries",
            title: "Query p95 by operation",
            description: "95th percentile query duration by pool and operation.",
            unit: "s",
            queries: [
              { expr: quantile(0.95, query, ["pool", "operation"], app), legend: "{{pool}} {{operation}}" },
            ],
          },
          {
            kind: "timeseries",
            title: "Queries per second",
            description: "Queries per second by pool.",
            unit: "ops",
            queries: [
              { expr: `sum by (pool) (rate(${query}_count{${app}}[${rateInterval}]))`, legend: "{{pool}}" },
            ],
          },
          {
            kind: "timeseries",
            title: "Replica lag",
            description: "How far each read replica is behind the primary (worst over instances).",
            unit: "s",
            redAbove: 30,
            queries: [
              { expr: `max by (replica) (${metrics.dbReplicaLag.name}{${app}})`, legend: "{{replica}}" },
            ],
          },
        ],
      },
      {
        title: "RDS primary (postgres_exporter)",
        panels: [
          {
            kind: "timeseries",
            title: "Server connections vs max_connections",
            description:
              "Connections open on the primary (every client: pods, migrations, admin) over its max_connections.",
            unit: "percentunit",
            redAbove: 0.8,
            min: 0,
            max: 1,
            queries: [
              {
                expr:
                  "sum by (instance) (pg_stat_activity_count) " +
                  "/ on (instance) max by (instance) (pg_settings_max_connections)",
                legend: "{{instance}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Server connections by state",
            description: "Connections on the primary by state (active, idle, idle in transaction).",
            unit: "short",
            queries: [{ expr: "sum by (state) (pg_stat_activity_count)", legend: "{{state}}" }],
          },
          {
            kind: "stat",
            title: "PostgreSQL reachable",
            description: "Whether postgres_exporter can connect to the primary (1 yes, 0 no).",
            unit: "none",
            redBelow: 1,
            queries: [{ expr: "max by (instance) (pg_up)", legend: "{{instance}}" }],
          },
        ],
      },
      {
        title: "RDS instances (CloudWatch)",
        panels: [
          {
            kind: "timeseries",
            title: "RDS CPU",
            description:
              "CPUUtilization of each RDS instance in percent (CloudWatch, through the CloudWatch exporter).",
            unit: "short",
            redAbove: 80,
            queries: [
              {
                expr: "max by (dimension_DBInstanceIdentifier) (aws_rds_cpuutilization_average)",
                legend: "{{dimension_DBInstanceIdentifier}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "RDS free storage",
            description:
              "FreeStorageSpace of each RDS instance (CloudWatch); storage autoscaling grows it up to the policy's maximum.",
            unit: "bytes",
            queries: [
              {
                expr: "min by (dimension_DBInstanceIdentifier) (aws_rds_free_storage_space_average)",
                legend: "{{dimension_DBInstanceIdentifier}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "RDS replica lag (CloudWatch)",
            description:
              "ReplicaLag of each read replica as RDS measures it, next to the app's own measure above.",
            unit: "s",
            redAbove: 30,
            queries: [
              {
                expr: "max by (dimension_DBInstanceIdentifier) (aws_rds_replica_lag_average)",
                legend: "{{dimension_DBInstanceIdentifier}}",
              },
            ],
          },
        ],
      },
    ],
  };
}
