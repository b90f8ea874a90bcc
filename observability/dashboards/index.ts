/** Every Parley dashboard, as specs and as Grafana dashboard JSON built with the foundation SDK. */
import { aiDashboard } from "./ai";
import { cacheDashboard } from "./cache";
import { databaseDashboard } from "./database";
import { overviewDashboard } from "./overview";
import { buildDashboard, type DashboardSpec } from "./panels";
import { scalingDashboard } from "./scaling";
import { sloDashboard } from "./slo";

export interface RenderedDashboard {
  uid: string;
  title: string;
  json: object;
}

export function dashboardSpecs(): DashboardSpec[] {
  return [
    overviewDashboard(),
    sloDashboard(),
    databaseDashboard(),
    cacheDashboard(),
    aiDashboard(),
    scalingDashboard(),
  ];
}

/** Interval-variable fields the SDK sets on every variable; @grafana/schema allows them on none. */
const intervalOnlyFields = ["auto", "auto_min", "auto_count"];

/** The dashboard as plain JSON (the SDK's objects also carry methods). */
function toJson(spec: DashboardSpec): object {
  const json = JSON.parse(JSON.stringify(buildDashboard(spec).build())) as {
    templating?: { list?: Array<Record<string, unknown>> };
  };
  for (const variable of json.templating?.list ?? []) {
    if (variable.type !== "interval") for (const field of intervalOnlyFields) delete variable[field];
  }
  return json;
}

export function renderDashboards(): RenderedDashboard[] {
  return dashboardSpecs().map((spec) => ({ uid: spec.uid, title: spec.title, json: toJson(spec) }));
}
