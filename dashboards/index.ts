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

export function renderDashboards(): RenderedDashboard[] {
  return dashboardSpecs().map((spec) => ({
    uid: spec.uid,
    title: spec.title,
    json: buildDashboard(spec).build(),
  }));
}
