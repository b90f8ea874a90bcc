/**
 * How many app pods fit on a node, and which nodes Karpenter launches for pending pods — shared by
 * the simulator and the cost estimate.
 */
import { hardwareOf } from "./instances";
import type { ScalingPolicy } from "./policy";
import { priceOf, priceTableFor } from "./pricing";

/**
 * DaemonSets on every node (aws-node, kube-proxy, ebs-csi-node, eks-pod-identity-agent,
 * node-exporter): assumed requests, not measured.
 */
export const daemonSetOverhead = { cpuMillicores: 200, memoryMiB: 300, pods: 5 };

/** EKS AMI kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above. */
function kubeReservedCpuMillicores(vcpu: number): number {
  const tiers: Array<[cores: number, fraction: number]> = [
    [1, 0.06],
    [1, 0.01],
    [2, 0.005],
    [Number.POSITIVE_INFINITY, 0.0025],
  ];
  let left = vcpu;
  let reserved = 0;
  for (const [cores, fraction] of tiers) {
    const used = Math.min(left, cores);
    reserved += used * 1000 * fraction;
    left -= used;
  }
  return reserved;
}

/** App pods that fit on one node of `instanceType` (allocatable after kube-reserved, eviction threshold, DaemonSets). */
export function podsPerNode(policy: ScalingPolicy, instanceType: string): number {
  const hw = hardwareOf(instanceType);
  const cpu = hw.vcpu * 1000 - kubeReservedCpuMillicores(hw.vcpu) - daemonSetOverhead.cpuMillicores;
  const memory = hw.memoryGiB * 1024 - (255 + 11 * hw.maxPods) - 100 - daemonSetOverhead.memoryMiB;
  return Math.max(
    0,
    Math.min(
      Math.floor(cpu / policy.pods.cpuRequestMillicores),
      Math.floor(memory / policy.pods.memoryRequestMiB),
      hw.maxPods - daemonSetOverhead.pods,
    ),
  );
}

export interface NodeOption {
  instanceType: string;
  slots: number;
  pricePerHour: number;
  vcpu: number;
  memoryGiB: number;
}

/** The NodePool's instance types that can hold at least one app pod, cheapest first. */
export function nodeOptions(policy: ScalingPolicy, region?: string): NodeOption[] {
  const prices = priceTableFor(region);
  const { instanceFamilies, instanceSizes } = policy.nodes.karpenter;
  const options = instanceFamilies.flatMap((family) =>
    instanceSizes.map((size) => {
      const instanceType = `${family}.${size}`;
      const hw = hardwareOf(instanceType);
      return {
        instanceType,
        slots: podsPerNode(policy, instanceType),
        pricePerHour: priceOf(prices.ec2PerHour, instanceType, "EC2", prices.region),
        vcpu: hw.vcpu,
        memoryGiB: hw.memoryGiB,
      };
    }),
  );
  return options.filter((o) => o.slots > 0).sort((a, b) => a.pricePerHour - b.pricePerHour);
}

/**
 * Nodes Karpenter launches for `pending` pods in one zone: the cheapest single type that holds them
 * all, else the type with the most slots (cheapest per slot among those), repeated.
 */
export function chooseNodes(options: NodeOption[], pending: number): NodeOption[] {
  if (options.length === 0) throw new Error("no instance type in the NodePool can hold an app pod");
  const launched: NodeOption[] = [];
  let left = pending;
  const largest = [...options].sort((a, b) => b.slots - a.slots || a.pricePerHour - b.pricePerHour)[0];
  while (left > 0) {
    const fitsAll = options.find((o) => o.slots >= left);
    const choice = fitsAll ?? largest;
    launched.push(choice);
    left -= choice.slots;
  }
  return launched;
}

/** The nodes for `pods` app pods spread evenly over the policy's zones. */
export function nodesForPods(policy: ScalingPolicy, pods: number, region?: string): NodeOption[] {
  const options = nodeOptions(policy, region);
  const zones = policy.availabilityZones;
  return Array.from({ length: zones }, (_, zone) => {
    const inZone = Math.floor(pods / zones) + (zone < pods % zones ? 1 : 0);
    return chooseNodes(options, inZone);
  }).flat();
}
