/**
 * How Grafana finds dashboards: its sidecar (configured by kube-prometheus-stack) loads every
 * ConfigMap carrying this label, in any namespace.
 */
export const grafanaDashboardLabel = { key: "grafana_dashboard", value: "1" } as const;
