/**
 * Scaling invariants: properties a policy must have in its stack's context. The infra program calls
 * `assertScalingInvariants` when it runs; the policy pack calls `checkScalingInvariants` from a
 * stack policy. Every message names the numbers.
 */
import { hpaTargetRatePerPod } from "./capacity";
import { rdsMaxConnections } from "./database";
import { hardwareOf } from "./instances";
import { chooseNodes, nodeOptions, nodesForPods } from "./nodes";
import type { ScalingPolicy } from "./policy";
import { summarize } from "./simulator/evaluate";
import { hpaTolerance } from "./simulator/hpa";
import { spikeOf } from "./simulator/scenarios";
import { simulate } from "./simulator/simulate";

/** One private subnet the VPC CNI gives pod IPs from. */
export interface PodSubnet {
  availabilityZone: string;
  /** e.g. "10.0.64.0/19"; its usable addresses are computed (AWS keeps 5 per subnet). */
  cidrBlock?: string;
  /** Usable addresses, when known directly (takes precedence over cidrBlock). */
  ipCapacity?: number;
}

/** What the policy alone does not know: the stack's config and network. */
export interface ScalingContext {
  /** AZs the stack's config spreads over. */
  availabilityZones: number;
  /** Private subnets that hold node and pod IPs. */
  podSubnets: PodSubnet[];
  /** Region for prices and instance data (default us-east-1). */
  region?: string;
}

export interface Violation {
  invariant: string;
  message: string;
}

/** AWS reserves the first four addresses and the last one of every subnet. */
const awsReservedAddressesPerSubnet = 5;
/** Pods with their own IP on each system node (CoreDNS, Karpenter, controllers, monitoring): an assumption. */
const systemPodsPerSystemNode = 15;

/** Usable IPv4 addresses of a subnet CIDR block. */
export function subnetIpCapacity(cidrBlock: string): number {
  const match = /^(\d{1,3}\.){3}\d{1,3}\/(\d{1,2})$/.exec(cidrBlock);
  const prefix = match ? Number(match[2]) : Number.NaN;
  if (!match || prefix > 28 || prefix < 16) {
    throw new Error(`subnet CIDR "${cidrBlock}" is not an IPv4 block between /16 and /28`);
  }
  return 2 ** (32 - prefix) - awsReservedAddressesPerSubnet;
}

function capacityOf(subnet: PodSubnet): number {
  if (subnet.ipCapacity !== undefined) return subnet.ipCapacity;
  if (subnet.cidrBlock !== undefined) return subnetIpCapacity(subnet.cidrBlock);
  throw new Error(`pod subnet in ${subnet.availabilityZone} has neither ipCapacity nor cidrBlock`);
}

function podBounds(policy: ScalingPolicy): Violation[] {
  const { pods } = policy;
  const out: Violation[] = [];
  const add = (message: string) => out.push({ invariant: "pod-bounds", message });
  if (pods.minReplicas < 1 || pods.minReplicas > pods.maxReplicas) {
    add(`minReplicas ${pods.minReplicas} must be between 1 and maxReplicas ${pods.maxReplicas}`);
  }
  if (pods.cpuRequestMillicores > pods.cpuLimitMillicores) {
    add(`CPU request ${pods.cpuRequestMillicores}m exceeds its limit ${pods.cpuLimitMillicores}m`);
  }
  if (pods.memoryRequestMiB > pods.memoryLimitMiB) {
    add(`memory request ${pods.memoryRequestMiB}Mi exceeds its limit ${pods.memoryLimitMiB}Mi`);
  }
  return out;
}

/**
 * The HPA scales on the highest of its metrics. A pod whose measured memory (capacity-measurement.json)
 * at the request-rate target is within the tolerance of the memory target keeps, or adds, replicas the
 * load does not need, and the scale-down after a peak never finishes.
 */
function memoryLeavesScalingToLoad(policy: ScalingPolicy): Violation[] {
  const { pods, hpa, capacity } = policy;
  const rate = hpaTargetRatePerPod(policy);
  const usedMiB = capacity.memory.baseMiB + capacity.memory.miBPerRequestPerSecond * rate;
  const percent = (100 * usedMiB) / pods.memoryRequestMiB;
  const ceiling = hpa.targetMemoryUtilizationPercent * (1 - hpaTolerance);
  if (percent < ceiling) return [];
  return [
    {
      invariant: "memory-leaves-scaling-to-load",
      message: `at the HPA's target of ${Math.round(rate)} req/s a pod uses ${usedMiB.toFixed(0)} MiB (measured), ${percent.toFixed(0)}% of its ${pods.memoryRequestMiB}Mi request: not below the ${hpa.targetMemoryUtilizationPercent}% memory target less the HPA's ${hpaTolerance * 100}% tolerance (${ceiling.toFixed(0)}%), so memory alone would hold replicas the load does not need`,
    },
  ];
}

function connectionBudget(policy: ScalingPolicy): Violation[] {
  const { database, pods } = policy;
  const maxConnections = rdsMaxConnections(database.instanceClass);
  const out: Violation[] = [];
  const check = (role: string, perPod: number) => {
    const needed = pods.maxReplicas * perPod + database.reservedConnections;
    if (needed > maxConnections) {
      out.push({
        invariant: "db-connection-budget",
        message: `${role}: ${pods.maxReplicas} pods × ${perPod} connections + ${database.reservedConnections} reserved = ${needed} exceeds max_connections ${maxConnections} of ${database.instanceClass}`,
      });
    }
  };
  check("primary", database.poolMaxPerPod.primary);
  // The reader endpoint balances by DNS, so one replica may receive every pod's replica pool.
  if (database.readReplicas > 0) check("each read replica", database.poolMaxPerPod.replica);
  return out;
}

function nodePoolFitsMaxPods(policy: ScalingPolicy, region?: string): Violation[] {
  const { pods, nodes } = policy;
  const atMax = nodesForPods(policy, pods.maxReplicas, region);
  const cpu = atMax.reduce((sum, node) => sum + node.vcpu, 0);
  const memory = atMax.reduce((sum, node) => sum + node.memoryGiB, 0);
  const { cpuLimitCores, memoryLimitGiB } = nodes.karpenter;
  if (cpu <= cpuLimitCores && memory <= memoryLimitGiB) return [];
  return [
    {
      invariant: "node-pool-fits-max-pods",
      message: `${pods.maxReplicas} pods × ${pods.cpuRequestMillicores}m/${pods.memoryRequestMiB}Mi need ${atMax.length} nodes (${cpu} vCPU, ${memory} GiB) but the NodePool is limited to ${cpuLimitCores} cores and ${memoryLimitGiB} GiB`,
    },
  ];
}

function pdbInvariants(policy: ScalingPolicy): Violation[] {
  const { maxUnavailable } = policy.pdb;
  const { minReplicas } = policy.pods;
  const out: Violation[] = [];
  if (Math.min(maxUnavailable, minReplicas) < 1) {
    out.push({
      invariant: "pdb-allows-drain",
      message: `at ${minReplicas} replicas the PDB (maxUnavailable ${maxUnavailable}) allows 0 evictions, so no node can drain`,
    });
  }
  if (maxUnavailable >= minReplicas) {
    out.push({
      invariant: "pdb-keeps-serving",
      message: `the PDB's maxUnavailable ${maxUnavailable} lets all ${minReplicas} pods at min replicas be evicted at once`,
    });
  }
  return out;
}

function zoneInvariants(policy: ScalingPolicy, context: ScalingContext): Violation[] {
  const out: Violation[] = [];
  if (policy.availabilityZones !== context.availabilityZones) {
    out.push({
      invariant: "zone-count-matches",
      message: `the scaling policy assumes ${policy.availabilityZones} AZs but the stack config has ${context.availabilityZones}`,
    });
  }
  if (policy.stack === "prod" && policy.pods.minReplicas < context.availabilityZones) {
    out.push({
      invariant: "min-replicas-per-zone",
      message: `minReplicas ${policy.pods.minReplicas} is below the ${context.availabilityZones} AZs: some AZ would run no pod`,
    });
  }
  return out;
}

/** IPs one AZ needs at max scale: app pods, app nodes with their warm ENI, system nodes and their pods. */
function ipsNeededPerZone(policy: ScalingPolicy, zones: number, region?: string): number {
  const podsInZone = Math.ceil(policy.pods.maxReplicas / zones);
  const appNodes = chooseNodes(nodeOptions(policy, region), podsInZone);
  const appNodeIps = appNodes.reduce((sum, node) => sum + 1 + hardwareOf(node.instanceType).ipsPerEni, 0);
  const system = policy.nodes.system;
  const systemNodes = Math.ceil(system.maxSize / zones);
  const systemIps = systemNodes * (1 + hardwareOf(system.instanceType).ipsPerEni + systemPodsPerSystemNode);
  return podsInZone + appNodeIps + systemIps;
}

function subnetCapacity(policy: ScalingPolicy, context: ScalingContext): Violation[] {
  const zones = Math.max(1, context.availabilityZones);
  const needed = ipsNeededPerZone(policy, zones, context.region);
  const capacityByZone = new Map<string, number>();
  for (const subnet of context.podSubnets) {
    capacityByZone.set(
      subnet.availabilityZone,
      (capacityByZone.get(subnet.availabilityZone) ?? 0) + capacityOf(subnet),
    );
  }
  const out: Violation[] = [];
  if (capacityByZone.size < context.availabilityZones) {
    out.push({
      invariant: "subnet-ip-capacity",
      message: `pod subnets cover ${capacityByZone.size} AZs but pods spread over ${context.availabilityZones}`,
    });
  }
  for (const [zone, capacity] of capacityByZone) {
    if (capacity < needed) {
      out.push({
        invariant: "subnet-ip-capacity",
        message: `${zone}: pod subnets hold ${capacity} IPs but ${needed} are needed at ${policy.pods.maxReplicas} replicas (pods, nodes with a warm ENI, system nodes)`,
      });
    }
  }
  return out;
}

function reachesPeakInTime(policy: ScalingPolicy, region?: string): Violation[] {
  const { objectives, pods } = policy;
  // Only the app nodes' prices matter here (Karpenter's choice); the data stores' do not.
  // The objectives' concurrent users as a spike, scaled with the measured capacity so it asks the
  // same pods whatever the bench measured, never fewer users (simulator/scenarios.ts).
  const run = simulate(policy, spikeOf(policy, objectives.peakConcurrentUsers), {
    region,
    fixedCosts: false,
  });
  const summary = summarize(policy, run);
  const out: Violation[] = [];
  const add = (message: string) => out.push({ invariant: "reaches-peak-in-time", message });
  const peak = `a spike of ${Math.round(summary.peakUsers)} users (${Math.round(summary.peakRps)} req/s)`;
  if (summary.peakRequiredPods > pods.maxReplicas) {
    add(
      `${peak} needs ${summary.peakRequiredPods} ready pods for p95 ≤ ${objectives.p95LatencyMs} ms, but maxReplicas is ${pods.maxReplicas}`,
    );
  } else if (summary.peakTargetReplicas > pods.maxReplicas) {
    add(
      `${peak} needs ${summary.peakTargetReplicas} replicas at the HPA target (${Math.round(hpaTargetRatePerPod(policy))} req/s per pod), but maxReplicas is ${pods.maxReplicas}`,
    );
  }
  if (
    summary.timeToCapacitySeconds > objectives.scaleUpSeconds &&
    summary.peakRequiredPods <= pods.maxReplicas
  ) {
    add(
      `${peak} reaches the ${summary.peakRequiredPods} pods it needs after ${summary.timeToCapacitySeconds} s, over the ${objectives.scaleUpSeconds} s scale-up objective`,
    );
  }
  if (run.nodeLimitSeconds > 0) {
    add(`${peak} waits ${run.nodeLimitSeconds} s on the NodePool limits`);
  }
  return out;
}

/** Runs one invariant; data it cannot judge (an unknown instance class, a subnet without size) is a violation too. */
function judge(invariant: string, check: () => Violation[]): Violation[] {
  try {
    return check();
  } catch (error) {
    return [{ invariant, message: `cannot be checked: ${(error as Error).message}` }];
  }
}

export function checkScalingInvariants(policy: ScalingPolicy, context: ScalingContext): Violation[] {
  const bounds = podBounds(policy);
  return [
    ...bounds,
    ...memoryLeavesScalingToLoad(policy),
    ...judge("db-connection-budget", () => connectionBudget(policy)),
    ...judge("node-pool-fits-max-pods", () => nodePoolFitsMaxPods(policy, context.region)),
    ...pdbInvariants(policy),
    ...zoneInvariants(policy, context),
    ...judge("subnet-ip-capacity", () => subnetCapacity(policy, context)),
    // Simulating a policy whose bounds are inconsistent says nothing more.
    ...(bounds.length === 0
      ? judge("reaches-peak-in-time", () => reachesPeakInTime(policy, context.region))
      : []),
  ];
}

export function assertScalingInvariants(policy: ScalingPolicy, context: ScalingContext): void {
  const violations = checkScalingInvariants(policy, context);
  if (violations.length > 0) {
    const lines = violations.map((v) => `  - [${v.invariant}] ${v.message}`);
    throw new Error(
      `scaling policy "${policy.stack}" breaks ${violations.length} invariant(s):\n${lines.join("\n")}`,
    );
  }
}
