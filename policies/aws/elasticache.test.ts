import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { cacheReplicationGroup } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import {
  cacheAuth,
  cacheAutomaticFailover,
  cacheEncryptionAtRest,
  cacheEncryptionInTransit,
  elasticachePolicies,
} from "./elasticache";

const type = "aws:elasticache/replicationGroup:ReplicationGroup";

describe("ElastiCache policies", () => {
  it("pass the happy-path replication group", async () => {
    for (const policy of elasticachePolicies) {
      expect(await messages(policy, [planned(type, cacheReplicationGroup)]), policy.name).toEqual([]);
    }
  });

  it("no encryption at rest", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "atRestEncryptionEnabled", false));
    expect(await messages(cacheEncryptionAtRest, [r])).toEqual(["atRestEncryptionEnabled is not true."]);
  });

  it("no encryption in transit", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "transitEncryptionEnabled", undefined));
    expect(await messages(cacheEncryptionInTransit, [r])).toEqual(["transitEncryptionEnabled is not true."]);
  });

  it("transit encryption in the migration mode that still admits plaintext", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "transitEncryptionMode", "preferred"));
    expect(await messages(cacheEncryptionInTransit, [r])).toEqual([
      'transitEncryptionMode is "preferred", which still admits plaintext clients.',
    ]);
  });

  it("no AUTH token", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "authToken", undefined));
    expect(await messages(cacheAuth, [r])).toEqual(["Neither authToken nor userGroupIds is set."]);
  });

  it("RBAC user groups satisfy AUTH", async () => {
    const withUserGroups = mutate(mutate(cacheReplicationGroup, "authToken", undefined), "userGroupIds", [
      "parley",
    ]);
    expect(await messages(cacheAuth, [planned(type, withUserGroups)])).toEqual([]);
  });

  it("a generated token, unknown during preview, counts as set", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "authToken", unknownValue));
    expect(await messages(cacheAuth, [r])).toEqual([]);
  });

  it("no automatic failover", async () => {
    const r = planned(type, mutate(cacheReplicationGroup, "automaticFailoverEnabled", false));
    expect(await messages(cacheAutomaticFailover, [r])).toEqual(["automaticFailoverEnabled is not true."]);
  });

  it("a write-only AUTH token (authTokenWo) satisfies AUTH", async () => {
    const writeOnly = mutate(mutate(cacheReplicationGroup, "authToken", undefined), "authTokenWo", "token");
    expect(await messages(cacheAuth, [planned(type, writeOnly)])).toEqual([]);
  });
});
