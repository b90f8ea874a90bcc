/**
 * Availability-zone spread across the stack: losing one zone must leave the network, the database
 * replicas, the cache and the app pods running elsewhere.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { ReportViolation, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { isSet } from "../support/unknowns";

export const zoneTopologyKey = "topology.kubernetes.io/zone";

export interface AzSpreadConfig {
  minZones: number;
}

function checkSubnets(args: StackValidationArgs, minZones: number, reportViolation: ReportViolation): void {
  const subnets = args.resources.filter((r) => r.isType(aws.ec2.Subnet));
  if (subnets.length === 0) return;
  const zones = new Set(subnets.map((s) => s.props.availabilityZone ?? s.props.availabilityZoneId));
  if (zones.size < minZones) {
    reportViolation(`Subnets span ${zones.size} availability zone(s); at least ${minZones} required.`);
  }
}

/**
 * Read replicas are pinned, each to its own zone, so losing one zone loses at most one replica. The
 * primary's zone is not compared: the program does not choose it, AWS does, and a Multi-AZ failover
 * moves it to the standby's zone (RDS User Guide, "Multi-AZ DB instance deployments"), so any rule
 * tying replicas to it would break on some placement. The primary's own zone resilience is Multi-AZ,
 * which the rds-multi-az policy checks.
 */
function checkDatabaseInstances(args: StackValidationArgs, reportViolation: ReportViolation): void {
  // The source is the primary's identifier, unknown during a first preview: set either way.
  const replicas = args.resources.filter(
    (r) => r.isType(aws.rds.Instance) && isSet(() => r.props.replicateSourceDb),
  );
  const seen = new Map<string, string>();
  for (const replica of replicas) {
    const zone: string | undefined = replica.props.availabilityZone;
    if (!zone) {
      reportViolation(
        `Read replica ${replica.name} has no availabilityZone; AWS may stack replicas in one zone.`,
        replica.urn,
      );
      continue;
    }
    const other = seen.get(zone);
    if (other) {
      reportViolation(
        `Read replicas ${other} and ${replica.name} share availability zone ${zone}.`,
        replica.urn,
      );
    }
    seen.set(zone, replica.name);
  }
}

function checkCache(args: StackValidationArgs, reportViolation: ReportViolation): void {
  for (const group of args.resources.filter((r) => r.isType(aws.elasticache.ReplicationGroup))) {
    if (group.props.multiAzEnabled !== true) {
      reportViolation(`ElastiCache replication group ${group.name} does not set multiAzEnabled.`, group.urn);
    }
  }
}

function checkPodSpread(args: StackValidationArgs, reportViolation: ReportViolation): void {
  for (const deployment of args.resources.filter((r) => r.isType(k8s.apps.v1.Deployment))) {
    const constraints: Array<{ topologyKey?: string }> =
      deployment.props.spec?.template?.spec?.topologySpreadConstraints ?? [];
    if (!constraints.some((c) => c.topologyKey === zoneTopologyKey)) {
      reportViolation(
        `Deployment ${deployment.name} has no topology spread constraint on ${zoneTopologyKey}.`,
        deployment.urn,
      );
    }
  }
}

export const azSpread: StackValidationPolicy = {
  name: "az-spread",
  description: "Subnets, database instances, cache nodes and app pods are spread across availability zones.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { minZones: { type: "integer", minimum: 1, default: 3 } } },
  validateStack: (args, reportViolation) => {
    const { minZones } = args.getConfig<AzSpreadConfig>();
    checkSubnets(args, minZones, reportViolation);
    checkDatabaseInstances(args, reportViolation);
    checkCache(args, reportViolation);
    checkPodSpread(args, reportViolation);
  },
};
