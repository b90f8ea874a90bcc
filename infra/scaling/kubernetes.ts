/**
 * Kubernetes objects derived from the scaling policy: container resources, the HPA and the PDB.
 * Plain objects shaped like the Kubernetes API (assignable to @pulumi/kubernetes' input types).
 */
import { hpaRequestRateMetric } from "../../contracts/metrics";
import type { HpaScalingRules, ScalingPolicy } from "./policy";

export interface ContainerResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** Requests and limits of the app container. */
export function containerResources(policy: ScalingPolicy): ContainerResources {
  const { pods } = policy;
  return {
    requests: { cpu: `${pods.cpuRequestMillicores}m`, memory: `${pods.memoryRequestMiB}Mi` },
    limits: { cpu: `${pods.cpuLimitMillicores}m`, memory: `${pods.memoryLimitMiB}Mi` },
  };
}

export type HpaMetricSpec =
  | {
      type: "Resource";
      resource: { name: "cpu" | "memory"; target: { type: "Utilization"; averageUtilization: number } };
    }
  | {
      type: "Pods";
      pods: { metric: { name: string }; target: { type: "AverageValue"; averageValue: string } };
    };

/** autoscaling/v2 HorizontalPodAutoscalerSpec. */
export interface HpaSpec {
  scaleTargetRef: { apiVersion: "apps/v1"; kind: "Deployment"; name: string };
  minReplicas: number;
  maxReplicas: number;
  metrics: HpaMetricSpec[];
  behavior: { scaleUp: HpaScalingRules; scaleDown: HpaScalingRules };
}

function copyRules(rules: HpaScalingRules): HpaScalingRules {
  return {
    stabilizationWindowSeconds: rules.stabilizationWindowSeconds,
    selectPolicy: rules.selectPolicy,
    policies: rules.policies.map((rule) => ({ ...rule })),
  };
}

/** The HPA of a Deployment: CPU and memory utilization plus the per-pod request rate, behaviour from the policy. */
export function hpaSpec(policy: ScalingPolicy, deploymentName: string): HpaSpec {
  const { pods, hpa } = policy;
  return {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deploymentName },
    minReplicas: pods.minReplicas,
    maxReplicas: pods.maxReplicas,
    metrics: [
      {
        type: "Resource",
        resource: {
          name: "cpu",
          target: { type: "Utilization", averageUtilization: hpa.targetCpuUtilizationPercent },
        },
      },
      {
        type: "Resource",
        resource: {
          name: "memory",
          target: { type: "Utilization", averageUtilization: hpa.targetMemoryUtilizationPercent },
        },
      },
      {
        type: "Pods",
        pods: {
          metric: { name: hpaRequestRateMetric },
          target: { type: "AverageValue", averageValue: String(hpa.targetRequestsPerSecondPerPod) },
        },
      },
    ],
    behavior: { scaleUp: copyRules(hpa.scaleUp), scaleDown: copyRules(hpa.scaleDown) },
  };
}

/** policy/v1 PodDisruptionBudgetSpec. */
export interface PdbSpec {
  maxUnavailable: number;
  selector: { matchLabels: Record<string, string> };
}

/** The app's PodDisruptionBudget over the pods matching `matchLabels`. */
export function pdbSpec(policy: ScalingPolicy, matchLabels: Record<string, string>): PdbSpec {
  return { maxUnavailable: policy.pdb.maxUnavailable, selector: { matchLabels: { ...matchLabels } } };
}
