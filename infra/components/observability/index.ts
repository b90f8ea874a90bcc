/**
 * Observability shipped to the cluster: the project's Prometheus rules as a PrometheusRule, its
 * Grafana dashboards as labelled ConfigMaps, and the ServiceMonitor that scrapes the app as job
 * `parley`. The content is what observability/render.ts renders, the same the local platform loads.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../../contracts/stacks";
import { componentNaming, componentType } from "../../naming";
import { grafanaDashboardLabel } from "./grafana";
import { type AppScrapeTarget, serviceMonitorSpec } from "./service-monitor";

/** The part of `renderObservability()` this component ships (structurally the same type). */
export interface RenderedObservability {
  rules: { groups: unknown[] };
  dashboards: Array<{ uid: string; title: string; json: unknown }>;
}

export interface ObservabilityArgs {
  provider: k8s.Provider;
  stack: StackName;
  rendered: RenderedObservability;
  /** Where the PrometheusRule and the dashboard ConfigMaps live (kube-prometheus-stack's namespace). */
  monitoringNamespace: pulumi.Input<string>;
  app: AppScrapeTarget;
  /** Resources that must be ready first: the monitoring stack (its CRDs) and the app's namespace. */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class Observability extends pulumi.ComponentResource {
  readonly ruleName: pulumi.Output<string>;
  readonly dashboardConfigMaps: pulumi.Output<string>[];

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    // Its type token was "parley:observability:Observability": the alias keeps the deployed component and its children.
    super(
      componentType("Observability"),
      name,
      {},
      { ...opts, aliases: [{ type: "parley:observability:Observability" }, ...(opts?.aliases ?? [])] },
    );
    const names = componentNaming(name, args.stack, "observability");
    const child: pulumi.CustomResourceOptions = {
      parent: this,
      provider: args.provider,
      dependsOn: args.dependsOn,
    };

    const rule = new k8s.apiextensions.CustomResource(
      names.name("rules"),
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "parley", namespace: args.monitoringNamespace },
        spec: { groups: args.rendered.rules.groups },
      },
      child,
    );
    this.ruleName = rule.metadata.name;

    this.dashboardConfigMaps = args.rendered.dashboards.map(
      (dashboard) =>
        new k8s.core.v1.ConfigMap(
          names.name("dashboard", dashboard.uid),
          {
            metadata: {
              name: `dashboard-${dashboard.uid}`,
              namespace: args.monitoringNamespace,
              labels: { [grafanaDashboardLabel.key]: grafanaDashboardLabel.value },
              annotations: { "parley.dev/dashboard-title": dashboard.title },
            },
            data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboard.json) },
          },
          child,
        ).metadata.name,
    );

    new k8s.apiextensions.CustomResource(
      names.name("service-monitor"),
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: args.app.serviceName, namespace: args.app.namespace },
        spec: serviceMonitorSpec(args.app),
      },
      child,
    );

    this.registerOutputs({ ruleName: this.ruleName, dashboardConfigMaps: this.dashboardConfigMaps });
  }
}
