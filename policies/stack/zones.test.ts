import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import {
  cacheReplicationGroup,
  deployment,
  rdsPrimary,
  rdsReplica,
  subnet,
} from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { azSpread } from "./zones";

const types = {
  subnet: "aws:ec2/subnet:Subnet",
  instance: "aws:rds/instance:Instance",
  cache: "aws:elasticache/replicationGroup:ReplicationGroup",
  deployment: "kubernetes:apps/v1:Deployment",
};

function stack(
  overrides: {
    primary?: Record<string, unknown>;
    replica?: Record<string, unknown>;
    cache?: Record<string, unknown>;
    deployment?: Record<string, unknown>;
    zones?: string[];
  } = {},
) {
  const zones = overrides.zones ?? ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
  return [
    ...zones.map((zone) => planned(types.subnet, subnet(zone))),
    planned(types.instance, overrides.primary ?? rdsPrimary, "primary"),
    planned(types.instance, overrides.replica ?? rdsReplica, "replica-1"),
    planned(types.cache, overrides.cache ?? cacheReplicationGroup, "cache"),
    planned(types.deployment, overrides.deployment ?? deployment, "app"),
  ];
}

describe("az-spread", () => {
  it("passes a stack spread over three zones", async () => {
    expect(await messages(azSpread, stack())).toEqual([]);
  });

  it("subnets in two zones when three are required", async () => {
    expect(await messages(azSpread, stack({ zones: ["eu-west-1a", "eu-west-1b", "eu-west-1b"] }))).toEqual([
      "Subnets span 2 availability zone(s); at least 3 required.",
    ]);
    expect(await messages(azSpread, stack({ zones: ["eu-west-1a", "eu-west-1b"] }), { minZones: 2 })).toEqual(
      [],
    );
  });

  it("holds for any zone AWS places the primary in, before and after a Multi-AZ failover", async () => {
    // The primary is declared without a zone: after a deploy (or a failover) it reports whichever
    // zone RDS chose, which may be a replica's.
    for (const zone of ["eu-west-1a", "eu-west-1b", "eu-west-1c"]) {
      const primary = mutate(rdsPrimary, "availabilityZone", zone);
      expect(await messages(azSpread, stack({ primary }))).toEqual([]);
    }
  });

  it("decides during a first preview, when the replicas' source (the primary's identifier) is unknown", async () => {
    const unknownSource = mutate(rdsReplica, "replicateSourceDb", unknownValue);
    const resources = [
      ...stack({ replica: unknownSource }),
      planned(types.instance, mutate(unknownSource, "availabilityZone", "eu-west-1b"), "replica-2"),
    ];
    expect(await messages(azSpread, resources)).toEqual([
      "Read replicas replica-1 and replica-2 share availability zone eu-west-1b.",
    ]);
  });

  it("two read replicas in one zone", async () => {
    const resources = [
      ...stack(),
      planned(types.instance, mutate(rdsReplica, "availabilityZone", "eu-west-1b"), "replica-2"),
    ];
    expect(await messages(azSpread, resources)).toEqual([
      "Read replicas replica-1 and replica-2 share availability zone eu-west-1b.",
    ]);
  });

  it("a replica without a zone", async () => {
    expect(
      await messages(azSpread, stack({ replica: mutate(rdsReplica, "availabilityZone", undefined) })),
    ).toEqual(["Read replica replica-1 has no availabilityZone; AWS may stack replicas in one zone."]);
  });

  it("a cache that is not Multi-AZ", async () => {
    expect(
      await messages(azSpread, stack({ cache: mutate(cacheReplicationGroup, "multiAzEnabled", false) })),
    ).toEqual(["ElastiCache replication group cache does not set multiAzEnabled."]);
  });

  it("pods without a zone spread constraint", async () => {
    const unspread = mutate(deployment, "spec.template.spec.topologySpreadConstraints", undefined);
    expect(await messages(azSpread, stack({ deployment: unspread }))).toEqual([
      "Deployment app has no topology spread constraint on topology.kubernetes.io/zone.",
    ]);
  });

  it("pods spread only over hostnames, or a Deployment without a pod template", async () => {
    const byHost = mutate(deployment, "spec.template.spec.topologySpreadConstraints", [
      { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
    ]);
    expect(await messages(azSpread, stack({ deployment: byHost }))).toEqual([
      "Deployment app has no topology spread constraint on topology.kubernetes.io/zone.",
    ]);
    for (const hollow of [{}, { spec: {} }, { spec: { template: {} } }])
      expect(await messages(azSpread, stack({ deployment: hollow }))).toEqual([
        "Deployment app has no topology spread constraint on topology.kubernetes.io/zone.",
      ]);
  });

  it("a stack without subnets of its own (they come from another stack) is not judged on them", async () => {
    const withoutSubnets = stack().filter((r) => r.type !== types.subnet);
    expect(await messages(azSpread, withoutSubnets)).toEqual([]);
  });
});
