/** Reading rendered dashboard JSON back: its panels (rows' nested ones included) and their queries. */
import type { RenderedDashboard } from "../../../observability/dashboards";

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PanelJson {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos?: GridPos;
  datasource?: unknown;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: PanelJson[];
}

export function panelsOf(dashboard: object): PanelJson[] {
  const top = (dashboard as { panels?: PanelJson[] }).panels ?? [];
  return top.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

export function dashboardQueries(dashboards: RenderedDashboard[]): DashboardQuery[] {
  return dashboards.flatMap((dashboard) =>
    panelsOf(dashboard.json).flatMap((panel) =>
      (panel.targets ?? [])
        .filter((target) => typeof target.expr === "string")
        .map((target) => ({ dashboard: dashboard.uid, panel: panel.title, expr: target.expr as string })),
    ),
  );
}
