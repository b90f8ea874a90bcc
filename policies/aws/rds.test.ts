import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { rdsParameterGroup, rdsPrimary, rdsReplica } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned, violations } from "../../tests/support/policies/policyTest";
import {
  rdsBackupRetention,
  rdsDeletionProtection,
  rdsForceSsl,
  rdsMultiAz,
  rdsNotPublic,
  rdsPerformanceInsights,
  rdsPolicies,
  rdsStorageEncrypted,
} from "./rds";

const instance = "aws:rds/instance:Instance";
const parameterGroup = "aws:rds/parameterGroup:ParameterGroup";

describe("RDS policies", () => {
  it("pass the happy-path primary, replica and parameter group", async () => {
    const resources = [
      planned(instance, rdsPrimary),
      planned(instance, rdsReplica),
      planned(parameterGroup, rdsParameterGroup),
    ];
    for (const policy of rdsPolicies) expect(await messages(policy, resources), policy.name).toEqual([]);
  });

  it("storage encryption off", async () => {
    const r = planned(instance, mutate(rdsPrimary, "storageEncrypted", false));
    expect(await messages(rdsStorageEncrypted, [r])).toEqual(["storageEncrypted is not true."]);
  });

  it("storage encryption left unset (the AWS default is unencrypted)", async () => {
    const r = planned(instance, mutate(rdsReplica, "storageEncrypted", undefined));
    expect(await messages(rdsStorageEncrypted, [r])).toEqual(["storageEncrypted is not true."]);
  });

  it("publicly accessible", async () => {
    const r = planned(instance, mutate(rdsPrimary, "publiclyAccessible", true));
    expect(await messages(rdsNotPublic, [r])).toEqual(["publiclyAccessible is true."]);
  });

  it("primary without Multi-AZ; replicas are exempt", async () => {
    expect(await messages(rdsMultiAz, [planned(instance, mutate(rdsPrimary, "multiAz", false))])).toEqual([
      "multiAz is not true on the primary.",
    ]);
    expect(await messages(rdsMultiAz, [planned(instance, mutate(rdsReplica, "multiAz", false))])).toEqual([]);
  });

  it("primary without deletion protection", async () => {
    const r = planned(instance, mutate(rdsPrimary, "deletionProtection", false));
    expect(await messages(rdsDeletionProtection, [r])).toEqual([
      "deletionProtection is not true on the primary.",
    ]);
  });

  it("backups shorter than the configured minimum", async () => {
    const r = planned(instance, mutate(rdsPrimary, "backupRetentionPeriod", 3));
    expect(await messages(rdsBackupRetention, [r])).toEqual([
      "backupRetentionPeriod is 3 days; at least 7 required.",
    ]);
    expect(await messages(rdsBackupRetention, [planned(instance, rdsPrimary)], { minimumDays: 21 })).toEqual([
      "backupRetentionPeriod is 14 days; at least 21 required.",
    ]);
  });

  it("backups: exactly the minimum passes, one day less fails, unset counts as 0, replicas are exempt", async () => {
    const withDays = (days: number | undefined) =>
      planned(instance, mutate(rdsPrimary, "backupRetentionPeriod", days));
    expect(await messages(rdsBackupRetention, [withDays(7)])).toEqual([]);
    expect(await messages(rdsBackupRetention, [withDays(6)])).toEqual([
      "backupRetentionPeriod is 6 days; at least 7 required.",
    ]);
    expect(await messages(rdsBackupRetention, [withDays(undefined)])).toEqual([
      "backupRetentionPeriod is 0 days; at least 7 required.",
    ]);
    expect(await messages(rdsBackupRetention, [withDays(10)], { minimumDays: 10 })).toEqual([]);
    expect(await messages(rdsBackupRetention, [withDays(9)], { minimumDays: 10 })).toEqual([
      "backupRetentionPeriod is 9 days; at least 10 required.",
    ]);
    const replica = planned(instance, mutate(rdsReplica, "backupRetentionPeriod", 0));
    expect(await messages(rdsBackupRetention, [replica])).toEqual([]);
  });

  it("Performance Insights off", async () => {
    const r = planned(instance, mutate(rdsPrimary, "performanceInsightsEnabled", false));
    expect(await messages(rdsPerformanceInsights, [r])).toEqual(["performanceInsightsEnabled is not true."]);
  });

  it("rds.force_ssl set to 0 in the parameter group", async () => {
    const r = planned(parameterGroup, mutate(rdsParameterGroup, "parameters.1.value", "0"));
    expect(await messages(rdsForceSsl, [r])).toEqual(['rds.force_ssl is "0"; it must be "1".']);
  });

  it("rds.force_ssl missing from the parameter group", async () => {
    const r = planned(
      parameterGroup,
      mutate(rdsParameterGroup, "parameters", [rdsParameterGroup.parameters[0]]),
    );
    expect(await messages(rdsForceSsl, [r])).toEqual(['rds.force_ssl is not set; it must be "1".']);
  });

  it("instance on a default parameter group, where rds.force_ssl cannot be set", async () => {
    const r = planned(instance, mutate(rdsPrimary, "parameterGroupName", "default.postgres16"));
    expect(await messages(rdsForceSsl, [r])).toEqual([
      "The instance uses the default parameter group, where rds.force_ssl cannot be set.",
    ]);
  });

  it("judges what it can during preview, when the source and the group name are still unknown", async () => {
    const replica = planned(instance, mutate(rdsReplica, "replicateSourceDb", unknownValue));
    const primary = planned(instance, mutate(rdsPrimary, "parameterGroupName", unknownValue));
    expect(await messages(rdsMultiAz, [replica])).toEqual([]);
    expect(await messages(rdsForceSsl, [primary])).toEqual([]);
  });

  it("reports with the enforcement level from the pack config", async () => {
    const r = planned(instance, mutate(rdsPrimary, "multiAz", false));
    expect(await violations(rdsMultiAz, [r], "advisory")).toMatchObject([
      { policyName: "rds-multi-az", enforcementLevel: "advisory", resourceType: instance },
    ]);
    expect(await messages(rdsMultiAz, [r], "disabled")).toEqual([]);
  });

  it("leaves parameter groups of other engines alone", async () => {
    const mysql = { family: "mysql8.0", parameters: [{ name: "require_secure_transport", value: "1" }] };
    expect(await messages(rdsForceSsl, [planned(parameterGroup, mysql)])).toEqual([]);
  });
});
