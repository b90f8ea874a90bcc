/**
 * The per-stack profile: every way the stacks differ, computed once from the stack config and handed
 * to the components as explicit options, so no component asks which stack it is in. Sizes and counts
 * (instances, replicas, Spot or on-demand capacity) are the scaling policy's; data protection, high
 * availability and retention are here.
 */

import type { StackName } from "../contracts/stacks";
import type { StackConfig } from "./config";
import { type ScalingPolicy, scalingPolicyFor } from "./scaling/policy";

/** How a stateful resource is protected from a mistaken or cascading destroy. */
export interface DataProtection {
  /** The service refuses to delete it (RDS, EKS) until the setting is turned off. */
  deletionProtection: boolean;
  /** A deleted RDS instance or Redis group leaves a final snapshot (and RDS its automated backups). */
  finalSnapshot: boolean;
  /** Days a deleted Secrets Manager secret can be restored; 0 deletes it at once (its name is free again). */
  secretRecoveryWindowDays: 0 | 30;
  /** A destroy also deletes what the resource holds: ECR images, records of a private DNS zone. */
  forceDestroyContents: boolean;
  /** Changes apply at once instead of in the maintenance window (RDS, ElastiCache). */
  applyImmediately: boolean;
}

export interface DatabaseProfile {
  /** A synchronous standby in a second AZ behind the primary. */
  multiAz: boolean;
  /** Enhanced Monitoring's sampling interval. */
  monitoringIntervalSeconds: 15 | 60;
  backupRetentionDays: number;
  /** UTC, before the maintenance window. */
  backupWindow: string;
  maintenanceWindow: string;
}

export interface CacheProfile {
  /** Days of daily Redis snapshots kept. */
  snapshotRetentionDays: number;
  /** UTC, before the maintenance window. */
  snapshotWindow: string;
  maintenanceWindow: string;
}

export interface MonitoringProfile {
  /** Two Prometheus and two Alertmanager replicas in different zones, instead of one each. */
  highlyAvailable: boolean;
  /** Prometheus's retention (duration syntax) and volume size. */
  retention: string;
  storageGiB: number;
}

export interface StackProfile {
  stack: StackName;
  /** Instance types, counts, replicas, Spot or on-demand. */
  scaling: ScalingPolicy;
  protection: DataProtection;
  database: DatabaseProfile;
  cache: CacheProfile;
  monitoring: MonitoringProfile;
  /** CloudWatch log groups (VPC flow logs, control plane, Redis slow log, container logs). */
  logRetentionDays: number;
}

/** What each stack is for: prod keeps its data and survives an AZ; dev is cheap and disposable. */
const environments: Record<
  StackName,
  {
    protection: DataProtection;
    multiAz: boolean;
    monitoringIntervalSeconds: 15 | 60;
    cacheSnapshotRetentionDays: number;
    highlyAvailableMonitoring: boolean;
  }
> = {
  prod: {
    protection: {
      deletionProtection: true,
      finalSnapshot: true,
      secretRecoveryWindowDays: 30,
      forceDestroyContents: false,
      applyImmediately: false,
    },
    multiAz: true,
    monitoringIntervalSeconds: 15,
    cacheSnapshotRetentionDays: 7,
    highlyAvailableMonitoring: true,
  },
  dev: {
    protection: {
      deletionProtection: false,
      finalSnapshot: false,
      secretRecoveryWindowDays: 0,
      forceDestroyContents: true,
      applyImmediately: true,
    },
    multiAz: false,
    monitoringIntervalSeconds: 60,
    cacheSnapshotRetentionDays: 1,
    highlyAvailableMonitoring: false,
  },
};

export type ProfileConfig = Pick<
  StackConfig,
  "stack" | "dbBackupRetentionDays" | "logRetentionDays" | "prometheusRetention" | "prometheusStorageGiB"
>;

/** The stack's profile: its environment's protections, and the retention its config sets. */
export function stackProfile(config: ProfileConfig): StackProfile {
  const environment = environments[config.stack];
  return {
    stack: config.stack,
    scaling: scalingPolicyFor(config.stack),
    protection: environment.protection,
    database: {
      multiAz: environment.multiAz,
      monitoringIntervalSeconds: environment.monitoringIntervalSeconds,
      backupRetentionDays: config.dbBackupRetentionDays,
      backupWindow: "02:00-03:00",
      maintenanceWindow: "sun:03:30-sun:04:30",
    },
    cache: {
      snapshotRetentionDays: environment.cacheSnapshotRetentionDays,
      snapshotWindow: "03:00-04:00",
      maintenanceWindow: "sun:05:00-sun:06:00",
    },
    monitoring: {
      highlyAvailable: environment.highlyAvailableMonitoring,
      retention: config.prometheusRetention,
      storageGiB: config.prometheusStorageGiB,
    },
    logRetentionDays: config.logRetentionDays,
  };
}
