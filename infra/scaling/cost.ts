/** Monthly cost of a stack at min, typical and max scale, from the dated price table. */
import { hpaTargetRatePerPod, replicasAtTarget, requestsPerSecondPerUser } from "./capacity";
import { nodesForPods } from "./nodes";
import type { ScalingPolicy } from "./policy";
import { type PriceTable, priceOf, priceTableFor } from "./pricing";

export type CostScale = "min" | "typical" | "max";
export const costScales: readonly CostScale[] = ["min", "typical", "max"];

export interface CostOptions {
  /** Price table region (default us-east-1). */
  region?: string;
  /** NAT gateways of the network; default one per AZ in prod and one elsewhere (the network design). */
  natGateways?: number;
  /** Whether the RDS primary has a Multi-AZ standby; default prod only (the database design). */
  databaseMultiAz?: boolean;
}

export interface CostLine {
  item: string;
  detail: string;
  monthlyUsd: number;
}

export interface CostEstimate {
  stack: string;
  scale: CostScale;
  region: string;
  pricesAsOf: string;
  replicas: number;
  requestsPerSecond: number;
  lines: CostLine[];
  totalMonthlyUsd: number;
}

/**
 * Average bytes an ALB moves per request, for its LCUs (1 LCU = 1 GB processed per hour, the
 * dimension that dominates for a JSON API behind a CDN). An assumption.
 */
const albBytesPerRequest = 4_000;

function replicasAt(policy: ScalingPolicy, scale: CostScale): number {
  if (scale === "min") return policy.pods.minReplicas;
  if (scale === "max") return policy.pods.maxReplicas;
  // typical: the objective's peak users served at the HPA target.
  return replicasAtTarget(policy, policy.objectives.peakConcurrentUsers * requestsPerSecondPerUser);
}

/** Costs that do not move with the app's replica count, per hour, itemised. */
export function fixedHourlyLines(
  policy: ScalingPolicy,
  prices: PriceTable,
  { natGateways = defaultNatGateways(policy), databaseMultiAz = policy.stack === "prod" }: CostOptions = {},
): CostLine[] {
  const { database, cache, nodes } = policy;
  const hours = prices.hoursPerMonth;
  const rds = priceOf(prices.rdsPostgresPerHour, database.instanceClass, "RDS", prices.region);
  const cacheNode = priceOf(prices.elasticachePerHour, cache.nodeType, "ElastiCache", prices.region);
  const systemNode = priceOf(prices.ec2PerHour, nodes.system.instanceType, "EC2", prices.region);
  const primaryInstances = databaseMultiAz ? 2 : 1; // a Multi-AZ primary is billed with its standby
  const storageInstances = primaryInstances + database.readReplicas;
  return [
    { item: "EKS control plane", detail: "1 cluster", monthlyUsd: prices.eksClusterPerHour * hours },
    {
      item: "System node group",
      detail: `${nodes.system.desiredSize} × ${nodes.system.instanceType}`,
      monthlyUsd: nodes.system.desiredSize * systemNode * hours,
    },
    {
      item: "RDS primary",
      detail: `${database.instanceClass}, ${databaseMultiAz ? "Multi-AZ" : "Single-AZ"}`,
      monthlyUsd: primaryInstances * rds * hours,
    },
    {
      item: "RDS read replicas",
      detail: `${database.readReplicas} × ${database.instanceClass}`,
      monthlyUsd: database.readReplicas * rds * hours,
    },
    {
      item: "RDS storage (gp3)",
      detail: `${database.allocatedStorageGiB} GiB × ${storageInstances} instances`,
      monthlyUsd: database.allocatedStorageGiB * storageInstances * prices.rdsGp3PerGiBMonth,
    },
    {
      item: "ElastiCache nodes",
      detail: `${1 + cache.replicas} × ${cache.nodeType}`,
      monthlyUsd: (1 + cache.replicas) * cacheNode * hours,
    },
    {
      item: "NAT gateways",
      detail: `${natGateways} (hours only)`,
      monthlyUsd: natGateways * prices.natGatewayPerHour * hours,
    },
  ];
}

export function defaultNatGateways(policy: ScalingPolicy): number {
  return policy.stack === "prod" ? policy.availabilityZones : 1;
}

/** LCUs an ALB bills for `requestsPerSecond` (at least one). */
export function albLcus(requestsPerSecond: number): number {
  return Math.max(1, (requestsPerSecond * albBytesPerRequest * 3600) / 1e9);
}

export function estimateMonthlyCost(
  policy: ScalingPolicy,
  scale: CostScale,
  options: CostOptions = {},
): CostEstimate {
  if (!costScales.includes(scale)) {
    throw new Error(`unknown cost scale "${scale}" (allowed: ${costScales.join(", ")})`);
  }
  const prices = priceTableFor(options.region);
  const hours = prices.hoursPerMonth;
  const replicas = replicasAt(policy, scale);
  const requestsPerSecond = replicas * hpaTargetRatePerPod(policy);
  const nodes = nodesForPods(policy, replicas, prices.region);
  const byType = new Map<string, number>();
  for (const node of nodes) byType.set(node.instanceType, (byType.get(node.instanceType) ?? 0) + 1);
  const lcus = albLcus(requestsPerSecond);
  const lines: CostLine[] = [
    ...fixedHourlyLines(policy, prices, options),
    {
      item: "App nodes (Karpenter)",
      detail: `${replicas} pods on ${[...byType].map(([type, count]) => `${count} × ${type}`).join(" + ")}`,
      monthlyUsd: nodes.reduce((sum, node) => sum + node.pricePerHour, 0) * hours,
    },
    {
      item: "Application load balancer",
      detail: `1 ALB, ${lcus.toFixed(1)} LCU at ${Math.round(requestsPerSecond)} req/s`,
      monthlyUsd: (prices.albPerHour + lcus * prices.albLcuPerHour) * hours,
    },
  ];
  const rounded = lines.map((line) => ({ ...line, monthlyUsd: Math.round(line.monthlyUsd * 100) / 100 }));
  return {
    stack: policy.stack,
    scale,
    region: prices.region,
    pricesAsOf: prices.asOf,
    replicas,
    requestsPerSecond,
    lines: rounded,
    totalMonthlyUsd: Math.round(rounded.reduce((sum, line) => sum + line.monthlyUsd, 0) * 100) / 100,
  };
}
