/** Scaling: the HPA's replicas, pods and nodes (kube-state-metrics, cAdvisor) next to the load. */
import { metrics, scrapeJob } from "../../contracts/metrics";
import { appSelector as app, type DashboardSpec, namespaceSelector as ns, rateInterval } from "./panels";

const hpa = `${ns}, horizontalpodautoscaler="${scrapeJob}"`;
const container = `${ns}, container="${scrapeJob}"`;

export function scalingDashboard(): DashboardSpec {
  return {
    uid: "parley-scaling",
    title: "Parley / Scaling",
    description:
      "Horizontal pod autoscaler, pods and nodes of the Parley deployment, with the load they serve.",
    tags: ["parley", "scaling", "kubernetes"],
    rows: [
      {
        title: "Autoscaler",
        panels: [
          {
            kind: "timeseries",
            title: "HPA replicas",
            description: "Current, desired, minimum and maximum replicas of the parley HPA.",
            unit: "short",
            width: 12,
            queries: [
              { expr: `kube_horizontalpodautoscaler_status_current_replicas{${hpa}}`, legend: "current" },
              { expr: `kube_horizontalpodautoscaler_status_desired_replicas{${hpa}}`, legend: "desired" },
              { expr: `kube_horizontalpodautoscaler_spec_min_replicas{${hpa}}`, legend: "min" },
              { expr: `kube_horizontalpodautoscaler_spec_max_replicas{${hpa}}`, legend: "max" },
            ],
          },
          {
            kind: "timeseries",
            title: "Requests per instance",
            description: "Request rate of each instance: the per-pod metric the HPA scales on.",
            unit: "reqps",
            width: 12,
            queries: [
              {
                expr: `sum by (instance) (rate(${metrics.httpRequests.name}{${app}}[${rateInterval}]))`,
                legend: "{{instance}}",
              },
            ],
          },
        ],
      },
      {
        title: "Pods and nodes",
        panels: [
          {
            kind: "timeseries",
            title: "Pods by phase",
            description: "Parley pods by phase, and the instances Prometheus scrapes.",
            unit: "short",
            queries: [
              {
                expr: `sum by (phase) (kube_pod_status_phase{${ns}, pod=~"${scrapeJob}-.*"})`,
                legend: "{{phase}}",
              },
              { expr: `sum(up{${app}})`, legend: "scraped and up" },
            ],
          },
          {
            kind: "timeseries",
            title: "Pod CPU",
            description: "CPU cores used by each Parley container.",
            unit: "short",
            queries: [
              {
                expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${container}}[${rateInterval}]))`,
                legend: "{{pod}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Pod memory",
            description: "Working set memory of each Parley container.",
            unit: "bytes",
            queries: [
              {
                expr: `sum by (pod) (container_memory_working_set_bytes{${container}})`,
                legend: "{{pod}}",
              },
            ],
          },
          {
            kind: "timeseries",
            title: "Nodes",
            description: "Nodes in the cluster and how many are Ready.",
            unit: "short",
            width: 24,
            queries: [
              { expr: "count(kube_node_info)", legend: "nodes" },
              { expr: 'sum(kube_node_status_condition{condition="Ready", status="true"})', legend: "ready" },
            ],
          },
        ],
      },
    ],
  };
}
