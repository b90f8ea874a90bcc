/**
 * PostgreSQL tuning for the RDS parameter group, scaled to the instance class's memory and to the
 * connection budget the scaling policy allows (max pods × pool size + reserved connections).
 */
import { rdsInstanceClassMemoryGiB } from "../scaling/database";
import type { ScalingPolicy } from "../scaling/policy";

export interface DbParameter {
  name: string;
  value: string;
  /** Static parameters only take effect after a reboot; RDS rejects "immediate" for them. */
  applyMethod: "immediate" | "pending-reboot";
}

/** Connections the app may open to one instance at max scale, plus the reserve for admin and migrations. */
export function connectionBudget(policy: ScalingPolicy): number {
  const { poolMaxPerPod, reservedConnections } = policy.database;
  return (
    policy.pods.maxReplicas * Math.max(poolMaxPerPod.primary, poolMaxPerPod.replica) + reservedConnections
  );
}

const clamp = (value: number, min: number, max: number) => Math.min(Math.max(Math.round(value), min), max);

/** The parameter group's settings for a policy's instance class, connection budget and latency objective. */
export function postgresParameters(policy: ScalingPolicy): DbParameter[] {
  const { instanceClass } = policy.database;
  const connections = connectionBudget(policy);
  const memoryGiB = rdsInstanceClassMemoryGiB[instanceClass];
  if (memoryGiB === undefined) {
    throw new Error(
      `no memory size known for RDS instance class "${instanceClass}" (see infra/scaling/database.ts)`,
    );
  }
  const memoryKiB = memoryGiB * 1024 * 1024;
  const sharedBuffersKiB = memoryKiB / 4;
  const pages = (kib: number) => String(Math.round(kib / 8)); // 8 kB pages
  const kib = (value: number) => String(value);
  const immediate = (name: string, value: string): DbParameter => ({ name, value, applyMethod: "immediate" });
  const onReboot = (name: string, value: string): DbParameter => ({
    name,
    value,
    applyMethod: "pending-reboot",
  });

  return [
    // Memory: a quarter for PostgreSQL's buffers, the OS page cache holds most of the rest.
    onReboot("shared_buffers", pages(sharedBuffersKiB)),
    immediate("effective_cache_size", pages(memoryKiB * 0.75)),
    // Each connection may run a few sorts/hashes at once: share what the buffers leave between them.
    immediate(
      "work_mem",
      kib(clamp((memoryKiB - sharedBuffersKiB) / (connections * 3), 4 * 1024, 64 * 1024)),
    ),
    immediate("maintenance_work_mem", kib(clamp(memoryKiB / 16, 64 * 1024, 2 * 1024 * 1024))),
    // gp3 SSD: random reads cost about the same as sequential ones.
    immediate("random_page_cost", "1.1"),
    immediate("effective_io_concurrency", "200"),
    // Chat tables grow append-heavy: vacuum and analyze small fractions often.
    onReboot("autovacuum_max_workers", String(memoryGiB >= 32 ? 5 : 3)),
    immediate("autovacuum_naptime", "15"),
    immediate("autovacuum_vacuum_scale_factor", "0.05"),
    immediate("autovacuum_analyze_scale_factor", "0.02"),
    immediate("autovacuum_vacuum_cost_limit", "2000"),
    immediate("log_autovacuum_min_duration", "1000"),
    // Log every statement slower than the whole request's p95 objective.
    immediate("log_min_duration_statement", String(policy.objectives.p95LatencyMs)),
    immediate("idle_in_transaction_session_timeout", "60000"),
    immediate("track_io_timing", "1"),
    onReboot("shared_preload_libraries", "pg_stat_statements"),
    immediate("pg_stat_statements.track", "top"),
    onReboot("pg_stat_statements.max", "10000"),
    immediate("rds.force_ssl", "1"),
  ];
}
