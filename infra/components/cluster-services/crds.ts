/**
 * Custom resource definitions, managed so that a chart upgrade upgrades them. Helm installs a
 * chart's `crds/` directory on first install only and never upgrades it
 * (helm.sh/docs/chart_best_practices/custom_resource_definitions), so the controllers' releases skip
 * their CRDs (`skipCrds`) and the CRDs come from:
 * - Karpenter: its `karpenter-crd` chart, whose CRDs are templates (karpenter.sh upgrade guide, "CRD Upgrades");
 * - the Prometheus operator: the `prometheus-operator-crds` chart (CRDs as templates), the operator
 *   version kube-prometheus-stack 88.5.3 ships (both v0.93.1);
 * - the load balancer controller (no CRD chart; its README applies `crds/` with kubectl):
 *   CustomResourceDefinition resources read from the vendored `crds.yaml` of the same chart version.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { charts } from "./charts";

/** The API groups whose kinds need these CRDs before any object of them is declared. */
export const crdSources = {
  karpenter: { chart: charts.karpenterCrd, groups: ["karpenter.sh", "karpenter.k8s.aws"] },
  prometheusOperator: { chart: charts.prometheusOperatorCrds, groups: ["monitoring.coreos.com"] },
  awsLoadBalancerController: { groups: ["elbv2.k8s.aws", "aga.k8s.aws"] },
} as const;

export const loadBalancerControllerCrdsPath = path.join(
  __dirname,
  "upstream",
  `aws-load-balancer-controller-${charts.awsLoadBalancerController.version}`,
  "crds.yaml",
);

export interface CrdManifest {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { group: string } & Record<string, unknown>;
}

/** The CRDs of a multi-document YAML file, unmodified. */
export function loadCrds(file: string): CrdManifest[] {
  const documents = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as CrdManifest | null);
  const crds = documents.filter((d): d is CrdManifest => d?.kind === "CustomResourceDefinition");
  if (crds.length === 0) throw new Error(`${file} holds no CustomResourceDefinition`);
  return crds;
}
