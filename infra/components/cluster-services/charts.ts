/**
 * The Helm charts the cluster runs, pinned. Versions are the upstream releases listed in
 * ../shared/reference/README.md (metrics-server is not listed there: 3.12.2 is its chart for
 * metrics-server 0.7.2).
 */
export interface ChartRef {
  chart: string;
  version: string;
  /** A Helm repository URL; absent when `chart` is an OCI reference. */
  repo?: string;
}

const prometheusCommunity = "https://prometheus-community.github.io/helm-charts";

export const charts = {
  karpenter: { chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" },
  // Always the controller's version: Karpenter's CRDs are coupled to it.
  karpenterCrd: { chart: "oci://public.ecr.aws/karpenter/karpenter-crd", version: "1.14.1" },
  awsLoadBalancerController: {
    chart: "aws-load-balancer-controller",
    version: "3.5.0",
    repo: "https://aws.github.io/eks-charts",
  },
  metricsServer: {
    chart: "metrics-server",
    version: "3.12.2",
    repo: "https://kubernetes-sigs.github.io/metrics-server/",
  },
  kubePrometheusStack: { chart: "kube-prometheus-stack", version: "88.5.3", repo: prometheusCommunity },
  // Same operator version (appVersion v0.93.1) as kube-prometheus-stack 88.5.3: prometheus-community/
  // helm-charts cf408a290aec489277a94450bb3511432477a53a, both Chart.yaml files. Bump the two together.
  prometheusOperatorCrds: { chart: "prometheus-operator-crds", version: "31.0.1", repo: prometheusCommunity },
  prometheusAdapter: { chart: "prometheus-adapter", version: "5.3.0", repo: prometheusCommunity },
  postgresExporter: { chart: "prometheus-postgres-exporter", version: "8.2.0", repo: prometheusCommunity },
  redisExporter: { chart: "prometheus-redis-exporter", version: "6.29.0", repo: prometheusCommunity },
  // YACE v0.67.0: the chart version in prometheus-community/helm-charts as of August 2026.
  cloudwatchExporter: {
    chart: "prometheus-yet-another-cloudwatch-exporter",
    version: "0.47.0",
    repo: prometheusCommunity,
  },
} as const satisfies Record<string, ChartRef>;
