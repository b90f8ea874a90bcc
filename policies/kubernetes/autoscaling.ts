/**
 * Availability of Deployments: each one scales with an HPA, survives voluntary disruption with a
 * PDB, and never scales below a floor that keeps serving through a node or zone loss.
 */
import * as k8s from "@pulumi/kubernetes";
import {
  type PolicyResource,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  validateResourceOfType,
} from "@pulumi/policy";
import { selectorMatches } from "../support/kubernetes";

export interface HpaMinReplicasConfig {
  minReplicas: number;
}

export const hpaMinReplicas: ResourceValidationPolicy = {
  name: "k8s-hpa-min-replicas",
  description: "HorizontalPodAutoscalers keep enough replicas to survive the loss of a pod (a zone in prod).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { minReplicas: { type: "integer", minimum: 1, default: 2 } },
  },
  validateResource: validateResourceOfType(
    k8s.autoscaling.v2.HorizontalPodAutoscaler,
    (hpa, args, report) => {
      const { minReplicas } = args.getConfig<HpaMinReplicasConfig>();
      // Kubernetes defaults an omitted minReplicas to 1.
      const actual = hpa.spec?.minReplicas ?? 1;
      if (actual < minReplicas) {
        report(`spec.minReplicas is ${actual}; this stack requires at least ${minReplicas}.`);
      }
    },
  ),
};

interface DeploymentRef {
  resource: PolicyResource;
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

/** Kubernetes-side identity of a resource: outputs carry the final (possibly auto-generated) name. */
function objectKey(resource: PolicyResource): { namespace: string; name: string } {
  const metadata = resource.props.metadata ?? {};
  return { namespace: metadata.namespace ?? "default", name: metadata.name ?? resource.name };
}

function deploymentsOf(resources: PolicyResource[]): DeploymentRef[] {
  return resources
    .filter((r) => r.isType(k8s.apps.v1.Deployment))
    .map((resource) => ({
      resource,
      ...objectKey(resource),
      labels: resource.props.spec?.template?.metadata?.labels ?? {},
    }));
}

export const deploymentHasHpa: StackValidationPolicy = {
  name: "k8s-deployment-has-hpa",
  description: "Every Deployment is scaled by a HorizontalPodAutoscaler.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const deployments = deploymentsOf(args.resources);
    if (deployments.length === 0) args.notApplicable("The stack declares no Deployment.");
    const targets = new Set(
      args.resources
        .filter((r) => r.isType(k8s.autoscaling.v2.HorizontalPodAutoscaler))
        .filter((r) => r.props.spec?.scaleTargetRef?.kind === "Deployment")
        .map((r) => `${objectKey(r).namespace}/${r.props.spec.scaleTargetRef.name}`),
    );
    for (const d of deployments) {
      if (!targets.has(`${d.namespace}/${d.name}`)) {
        reportViolation(
          `Deployment ${d.namespace}/${d.name} has no HorizontalPodAutoscaler.`,
          d.resource.urn,
        );
      }
    }
  },
};

export const deploymentHasPdb: StackValidationPolicy = {
  name: "k8s-deployment-has-pdb",
  description: "Every Deployment is covered by a PodDisruptionBudget.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const deployments = deploymentsOf(args.resources);
    if (deployments.length === 0) args.notApplicable("The stack declares no Deployment.");
    const budgets = args.resources.filter((r) => r.isType(k8s.policy.v1.PodDisruptionBudget));
    for (const d of deployments) {
      const covered = budgets.some(
        (b) => objectKey(b).namespace === d.namespace && selectorMatches(b.props.spec?.selector, d.labels),
      );
      if (!covered) {
        reportViolation(`Deployment ${d.namespace}/${d.name} has no PodDisruptionBudget.`, d.resource.urn);
      }
    }
  },
};

export const autoscalingPolicies = [hpaMinReplicas, deploymentHasHpa, deploymentHasPdb];
