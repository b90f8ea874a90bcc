/**
 * RDS PostgreSQL: encrypted, private, highly available and recoverable, TLS only.
 * Read replicas (replicateSourceDb set) inherit backups and Multi-AZ from the primary's role, so the
 * availability and recovery rules apply to primaries.
 */
import * as aws from "@pulumi/aws";
import { type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { isSet, readOrUnknown, unknown } from "../support/unknowns";

/** A read replica names its source; during preview that name may be the primary's unknown identifier. */
function isReadReplica(instance: { replicateSourceDb?: string }): boolean {
  return isSet(() => instance.replicateSourceDb);
}

export const rdsStorageEncrypted: ResourceValidationPolicy = {
  name: "rds-storage-encrypted",
  description: "RDS instances encrypt their storage at rest.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
    if (instance.storageEncrypted !== true) reportViolation("storageEncrypted is not true.");
  }),
};

export const rdsNotPublic: ResourceValidationPolicy = {
  name: "rds-not-publicly-accessible",
  description: "RDS instances are reachable only from inside the VPC.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
    if (instance.publiclyAccessible === true) reportViolation("publiclyAccessible is true.");
  }),
};

export const rdsMultiAz: ResourceValidationPolicy = {
  name: "rds-multi-az",
  description: "The RDS primary runs Multi-AZ with a synchronous standby.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
    if (!isReadReplica(instance) && instance.multiAz !== true)
      reportViolation("multiAz is not true on the primary.");
  }),
};

export const rdsDeletionProtection: ResourceValidationPolicy = {
  name: "rds-deletion-protection",
  description: "The RDS primary cannot be deleted by an update (deletion protection on).",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
    if (!isReadReplica(instance) && instance.deletionProtection !== true) {
      reportViolation("deletionProtection is not true on the primary.");
    }
  }),
};

export interface BackupRetentionConfig {
  minimumDays: number;
}

export const rdsBackupRetention: ResourceValidationPolicy = {
  name: "rds-backup-retention",
  description: "The RDS primary keeps automated backups long enough to recover from a bad week.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { minimumDays: { type: "integer", minimum: 1, maximum: 35, default: 7 } } },
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, args, reportViolation) => {
    if (isReadReplica(instance)) return;
    const { minimumDays } = args.getConfig<BackupRetentionConfig>();
    const days = instance.backupRetentionPeriod ?? 0;
    if (days < minimumDays)
      reportViolation(`backupRetentionPeriod is ${days} days; at least ${minimumDays} required.`);
  }),
};

export const rdsPerformanceInsights: ResourceValidationPolicy = {
  name: "rds-performance-insights",
  description: "RDS instances have Performance Insights on, for diagnosing slow queries under load.",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
    if (instance.performanceInsightsEnabled !== true)
      reportViolation("performanceInsightsEnabled is not true.");
  }),
};

export const rdsForceSsl: ResourceValidationPolicy = {
  name: "rds-force-ssl",
  description: "PostgreSQL accepts TLS connections only: rds.force_ssl = 1 in a custom parameter group.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(aws.rds.ParameterGroup, (group, _args, reportViolation) => {
      if (!group.family.startsWith("postgres")) return;
      const forceSsl = (group.parameters ?? []).find((p) => p.name === "rds.force_ssl");
      if (forceSsl?.value !== "1") {
        reportViolation(`rds.force_ssl is ${forceSsl ? `"${forceSsl.value}"` : "not set"}; it must be "1".`);
      }
    }),
    validateResourceOfType(aws.rds.Instance, (instance, _args, reportViolation) => {
      const group = readOrUnknown(() => instance.parameterGroupName);
      // Unknown during preview: the generated name of a group the program declares.
      if (group === unknown) return;
      if (!group || group.startsWith("default.")) {
        reportViolation("The instance uses the default parameter group, where rds.force_ssl cannot be set.");
      }
    }),
  ],
};

export const rdsPolicies = [
  rdsStorageEncrypted,
  rdsNotPublic,
  rdsMultiAz,
  rdsDeletionProtection,
  rdsBackupRetention,
  rdsPerformanceInsights,
  rdsForceSsl,
];
