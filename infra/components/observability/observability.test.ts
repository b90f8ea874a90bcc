import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { scrapeJob } from "../../../contracts/metrics";
import { renderObservability } from "../../../observability/render";
import { field, ofType, runComponents, single } from "../../../tests/support/infra/component-harness";
import { registeredObjectsSchemaErrors, schemaErrors } from "../../../tests/support/infra/kubernetes-schemas";
import { reveal } from "../../../tests/support/infra/resources";
import { grafanaDashboardLabel } from "./grafana";
import { Observability } from "./index";

const rendered = renderObservability();
const app = {
  namespace: "parley",
  serviceName: scrapeJob,
  selector: { "app.kubernetes.io/name": "parley", "app.kubernetes.io/component": "api" },
  portName: "http",
};

const run = runComponents(() => {
  const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
  new Observability("parley-test-observability", {
    provider,
    stack: "dev",
    rendered,
    monitoringNamespace: "monitoring",
    app,
    dependsOn: [],
  });
});

describe("Observability", () => {
  it("ships the rendered rule file as the PrometheusRule's groups", async () => {
    const rule = single(await run, "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    const inputs = reveal(rule.inputs);
    expect(field(inputs, "metadata.namespace")).toBe("monitoring");
    expect(field(inputs, "spec.groups")).toEqual(parse(rendered.rulesYaml).groups);
    expect((field(inputs, "spec.groups") as unknown[]).length).toBeGreaterThan(0);
  });

  it("ships one ConfigMap per dashboard, labelled for Grafana's sidecar", async () => {
    const configMaps = ofType(await run, "kubernetes:core/v1:ConfigMap").map((registration) =>
      reveal(registration.inputs),
    );
    expect(configMaps).toHaveLength(rendered.dashboards.length);
    for (const dashboard of rendered.dashboards) {
      const configMap = configMaps.find(
        (candidate) => field(candidate, "metadata.name") === `dashboard-${dashboard.uid}`,
      );
      expect(field(configMap, "metadata.labels")).toEqual({
        [grafanaDashboardLabel.key]: grafanaDashboardLabel.value,
      });
      const data = field(configMap, "data") as Record<string, string>;
      expect(JSON.parse(data[`${dashboard.uid}.json`])).toEqual(dashboard.json);
    }
  });

  it("scrapes the app's Service on its http port, so the job is named parley", async () => {
    const monitor = single(await run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
    const inputs = reveal(monitor.inputs);
    expect(field(inputs, "metadata")).toEqual({ name: "parley", namespace: "parley" });
    expect(field(inputs, "spec.selector.matchLabels")).toEqual(app.selector);
    expect(field(inputs, "spec.endpoints.0")).toMatchObject({ port: "http", path: "/metrics" });
  });

  it("declares only objects that pass the upstream schemas", async () => {
    const { validated, errors } = await registeredObjectsSchemaErrors(await run);
    expect(validated).toBe(rendered.dashboards.length + 2);
    expect(errors).toEqual({});
  });

  it("catches a PrometheusRule that breaks the operator's schema", async () => {
    const errors = await schemaErrors({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "broken" },
      spec: { groups: [{ name: "g", rules: [{ alert: "A", expr: "up == 0", for: 5 }] }] },
    });
    expect(errors.join("\n")).toMatch(/for/);
  });
});
