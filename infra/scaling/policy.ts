/**
 * The scaling policy: one typed value per stack owns every number that decides how Parley scales.
 * Kubernetes and AWS resources are derived from it (see the rest of infra/scaling/); nothing else
 * writes these numbers by hand.
 */
import type { StackName } from "../../contracts/stacks";
import { type MemoryModel, readMeasuredCapacity } from "./measured-capacity";

/** One rule of an HPA scaling behaviour (autoscaling/v2 HPAScalingPolicy). */
export interface HpaScalingRule {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

/** One direction of an HPA behaviour (autoscaling/v2 HPAScalingRules). */
export interface HpaScalingRules {
  stabilizationWindowSeconds: number;
  selectPolicy: "Max" | "Min" | "Disabled";
  policies: HpaScalingRule[];
}

export interface PodPolicy {
  minReplicas: number;
  maxReplicas: number;
  cpuRequestMillicores: number;
  cpuLimitMillicores: number;
  memoryRequestMiB: number;
  memoryLimitMiB: number;
  /** Seconds from pod creation until it passes readiness (image pull excluded: images are cached on nodes). */
  startupSeconds: number;
}

export interface HpaPolicy {
  targetCpuUtilizationPercent: number;
  targetMemoryUtilizationPercent: number;
  /** Target of the custom per-pod request-rate metric (requests per second per pod). */
  targetRequestsPerSecondPerPod: number;
  scaleUp: HpaScalingRules;
  scaleDown: HpaScalingRules;
}

export interface NodePolicy {
  /** The managed node group for system pods (CoreDNS, Karpenter, controllers). */
  system: { instanceType: string; minSize: number; desiredSize: number; maxSize: number };
  /** Karpenter NodePool for application pods. */
  karpenter: {
    cpuLimitCores: number;
    memoryLimitGiB: number;
    instanceFamilies: string[];
    instanceSizes: string[];
    capacityTypes: Array<"on-demand" | "spot">;
    consolidateAfterSeconds: number;
    /** Seconds from an unschedulable pod to a Ready node (EC2 launch + bootstrap). */
    provisioningSeconds: number;
  };
}

export interface DatabasePolicy {
  instanceClass: string;
  readReplicas: number;
  /** Connections each pod may hold to the primary and to the reader endpoint. */
  poolMaxPerPod: { primary: number; replica: number };
  /** Connections kept free on every instance for migrations, admin and monitoring. */
  reservedConnections: number;
  allocatedStorageGiB: number;
  maxAllocatedStorageGiB: number;
}

export interface CachePolicy {
  nodeType: string;
  /** Replicas per shard, on top of the primary node. */
  replicas: number;
}

export interface ScalingObjectives {
  peakConcurrentUsers: number;
  p95LatencyMs: number;
  scaleUpSeconds: number;
  scaleDownSeconds: number;
}

/** What one app process serves per CPU core; a pod serves its CPU request's share of it. */
export interface CapacityPolicy {
  /** Mixed-user requests per second per core: the bench's measured service rate (capacity.ts). */
  requestsPerSecondPerCore: number;
  /** A pod's resident memory at a request rate, measured in the same run. */
  memory: MemoryModel;
}

export interface ScalingPolicy {
  stack: StackName;
  availabilityZones: number;
  capacity: CapacityPolicy;
  pods: PodPolicy;
  hpa: HpaPolicy;
  /** PodDisruptionBudget: pods that may be down at once during voluntary disruptions. */
  pdb: { maxUnavailable: number };
  nodes: NodePolicy;
  database: DatabasePolicy;
  cache: CachePolicy;
  objectives: ScalingObjectives;
}

/**
 * The per-core rate and the memory `npm run bench -- --write-capacity` measured, read from the
 * committed infra/scaling/capacity-measurement.json that names its run (date, commit, machine).
 */
const measured = readMeasuredCapacity();
const capacity: CapacityPolicy = {
  requestsPerSecondPerCore: measured.requestsPerSecondPerCore,
  memory: measured.memory,
};

/**
 * The HPA's request-rate target: 55% of a pod's service rate at its CPU request, so the request rate
 * leads CPU slightly, and still scales when requests are I/O-bound rather than CPU-bound.
 */
export const requestRateTargetShare = 0.55;
export const requestRateTarget = (
  cpuRequestMillicores: number,
  { requestsPerSecondPerCore }: CapacityPolicy,
) => Math.floor((cpuRequestMillicores / 1000) * requestsPerSecondPerCore * requestRateTargetShare);

/** The service's scaling objectives: 1000+ concurrent users, p95 < 200 ms, scale up < 2 min, down < 5 min. */
const objectives: ScalingObjectives = {
  peakConcurrentUsers: 1000,
  p95LatencyMs: 200,
  scaleUpSeconds: 120,
  scaleDownSeconds: 300,
};

const prodPods: PodPolicy = {
  minReplicas: 3,
  // The 12-month growth plan peaks at 10,000 users or more (simulator/scenarios.ts): `npm run
  // scaling -- --stack prod --scenario growth` shows the pods it needs at the measured capacity.
  maxReplicas: 80,
  cpuRequestMillicores: 500,
  cpuLimitMillicores: 1000,
  memoryRequestMiB: 512,
  memoryLimitMiB: 1024,
  startupSeconds: 10,
};

const prod: ScalingPolicy = {
  stack: "prod",
  availabilityZones: 3,
  capacity,
  pods: prodPods,
  hpa: {
    targetCpuUtilizationPercent: 60,
    targetMemoryUtilizationPercent: 80,
    targetRequestsPerSecondPerPod: requestRateTarget(prodPods.cpuRequestMillicores, capacity),
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Percent", value: 100, periodSeconds: 15 },
        { type: "Pods", value: 4, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: 120,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 50, periodSeconds: 30 }],
    },
  },
  pdb: { maxUnavailable: 1 },
  nodes: {
    system: { instanceType: "m7i.large", minSize: 3, desiredSize: 3, maxSize: 4 },
    karpenter: {
      cpuLimitCores: 64,
      memoryLimitGiB: 256,
      instanceFamilies: ["c7i", "m7i", "c6i", "m6i"],
      instanceSizes: ["large", "xlarge", "2xlarge"],
      capacityTypes: ["on-demand"],
      consolidateAfterSeconds: 60,
      provisioningSeconds: 60,
    },
  },
  database: {
    instanceClass: "db.r7g.large",
    readReplicas: 2,
    poolMaxPerPod: { primary: 10, replica: 10 },
    reservedConnections: 50,
    allocatedStorageGiB: 100,
    maxAllocatedStorageGiB: 1000,
  },
  cache: { nodeType: "cache.r7g.large", replicas: 2 },
  objectives,
};

const devPods: PodPolicy = {
  minReplicas: 2,
  maxReplicas: 6,
  cpuRequestMillicores: 250,
  cpuLimitMillicores: 500,
  // A pod holds about 200 MiB under any load (capacity-measurement.json's memory): 256 Mi put it at
  // the HPA's 80% memory target, which then never let the replicas fall (invariants.ts).
  memoryRequestMiB: 384,
  memoryLimitMiB: 512,
  startupSeconds: 10,
};

const dev: ScalingPolicy = {
  stack: "dev",
  availabilityZones: 3,
  capacity,
  pods: devPods,
  hpa: {
    targetCpuUtilizationPercent: 70,
    targetMemoryUtilizationPercent: 80,
    targetRequestsPerSecondPerPod: requestRateTarget(devPods.cpuRequestMillicores, capacity),
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Percent", value: 100, periodSeconds: 15 },
        { type: "Pods", value: 2, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: 120,
      selectPolicy: "Max",
      policies: [{ type: "Percent", value: 50, periodSeconds: 30 }],
    },
  },
  pdb: { maxUnavailable: 1 },
  nodes: {
    system: { instanceType: "t3.large", minSize: 2, desiredSize: 2, maxSize: 3 },
    karpenter: {
      cpuLimitCores: 16,
      memoryLimitGiB: 64,
      instanceFamilies: ["t3", "m7i"],
      instanceSizes: ["large", "xlarge"],
      capacityTypes: ["spot", "on-demand"],
      consolidateAfterSeconds: 30,
      provisioningSeconds: 60,
    },
  },
  database: {
    instanceClass: "db.t4g.medium",
    readReplicas: 1,
    poolMaxPerPod: { primary: 5, replica: 5 },
    reservedConnections: 20,
    allocatedStorageGiB: 20,
    maxAllocatedStorageGiB: 100,
  },
  cache: { nodeType: "cache.t4g.small", replicas: 1 },
  // dev serves the team, not load tests: sized for 100 concurrent users.
  objectives: { ...objectives, peakConcurrentUsers: 100 },
};

const policies: Record<StackName, ScalingPolicy> = { prod, dev };

/** The scaling policy of a stack. */
export function scalingPolicyFor(stack: StackName): ScalingPolicy {
  return policies[stack];
}
