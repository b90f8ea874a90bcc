/**
 * The cluster's controllers besides Karpenter: the AWS Load Balancer Controller (turns the app's
 * Ingress into an ALB) and metrics-server (CPU/memory for the HPA and `kubectl top`).
 */

import { systemNodeLabel, systemNodeTaint } from "../cluster";

export interface Placement {
  nodeSelector: Record<string, string>;
  tolerations: Array<{ key: string; operator: "Exists"; effect: string }>;
}

/**
 * Controllers run on the managed system node group (tainted CriticalAddonsOnly), never on the nodes
 * Karpenter provisions: they must keep running while Karpenter consolidates or is itself down.
 */
export const systemPlacement: Placement = {
  nodeSelector: { [systemNodeLabel.key]: systemNodeLabel.value },
  tolerations: [{ key: systemNodeTaint.key, operator: "Exists", effect: systemNodeTaint.effect }],
};

/**
 * Service accounts whose AWS permissions come from EKS Pod Identity associations (declared with the
 * cluster): the association and the Helm release must agree on namespace and name.
 */
export const controllerServiceAccounts = {
  karpenter: { namespace: "kube-system", name: "karpenter" },
  awsLoadBalancerController: { namespace: "kube-system", name: "aws-load-balancer-controller" },
} as const;

/** The IngressClass the load balancer controller creates and the app's Ingress uses. */
export const albIngressClass = "alb";

export interface LoadBalancerControllerValues extends Placement {
  clusterName: string;
  region: string;
  vpcId: string;
  replicaCount: number;
  serviceAccount: { create: true; name: string };
  ingressClass: string;
  createIngressClassResource: true;
  /** Leave `Service type: LoadBalancer` alone: the cluster exposes only Ingresses. */
  enableServiceMutatorWebhook: false;
  /** Off: it is installed before the monitoring stack (and its ServiceMonitor CRD) exists. */
  serviceMonitor: { enabled: false };
}

export function loadBalancerControllerValues(input: {
  clusterName: string;
  region: string;
  vpcId: string;
}): LoadBalancerControllerValues {
  return {
    clusterName: input.clusterName,
    region: input.region,
    vpcId: input.vpcId,
    replicaCount: 2,
    ...systemPlacement,
    serviceAccount: { create: true, name: controllerServiceAccounts.awsLoadBalancerController.name },
    ingressClass: albIngressClass,
    createIngressClassResource: true,
    enableServiceMutatorWebhook: false,
    serviceMonitor: { enabled: false },
  };
}

export interface MetricsServerValues extends Placement {
  replicas: number;
  podDisruptionBudget: { enabled: true; maxUnavailable: number };
}

/** Two replicas so HPA decisions survive a node drain. */
export function metricsServerValues(): MetricsServerValues {
  return { replicas: 2, podDisruptionBudget: { enabled: true, maxUnavailable: 1 }, ...systemPlacement };
}
