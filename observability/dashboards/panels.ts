/**
 * The building blocks every Parley dashboard shares: the datasource and namespace variables, query
 * selectors, panel builders that always carry a unit and a description, and a row layout that assigns
 * panel ids and grid positions.
 */
import * as common from "@grafana/grafana-foundation-sdk/common";
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  type DataSourceRef,
  DatasourceVariableBuilder,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type ValueMapping,
  VariableRefresh,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder as StatPanelBuilder } from "@grafana/grafana-foundation-sdk/stat";
import { PanelBuilder as TimeseriesPanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";
import { metrics, scrapeJob } from "../../contracts/metrics";
import { runbookBaseUrl } from "../config/runbook";

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JS template.
export const datasource: DataSourceRef = { type: "prometheus", uid: "${datasource}" };

/** The selector every app query starts from. */
export const appSelector = `job="${scrapeJob}", namespace=~"$namespace"`;

/** Kubernetes objects (kube-state-metrics, cAdvisor) of the namespace. */
export const namespaceSelector = `namespace=~"$namespace"`;

export const rateInterval = "$__rate_interval";

/** Grafana unit ids used by the dashboards. */
export type Unit = "reqps" | "ops" | "percentunit" | "s" | "short" | "bytes" | "none" | "currencyUSD";

export interface Query {
  expr: string;
  legend?: string;
  /**
   * Set when the series exist only after a specific event (a 5xx, a rate-limited request): the
   * query may then rightly return nothing. Says which event.
   */
  onlyAfter?: string;
}

export interface PanelSpec {
  kind: "timeseries" | "stat";
  title: string;
  description: string;
  unit: Unit;
  queries: Query[];
  /** Width in grid columns (default 8). */
  width?: number;
  height?: number;
  /** Red above this value (green below). */
  redAbove?: number;
  /** Red below this value (green above). */
  redBelow?: number;
  min?: number;
  max?: number;
  /** Display text for exact values (e.g. circuit states). */
  valueText?: Record<string, { text: string; color: string }>;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  rows: RowSpec[];
}

/**
 * The share of a counter's rate whose series match `part`, by `by`: 0 (not empty) while no series
 * matches yet, since labelled counters appear only after their first increment.
 */
export function shareOf(metric: string, by: string, selector: string, part: string, window: string): string {
  const total = `sum by (${by}) (rate(${metric}{${selector}}[${window}]))`;
  const matching = `sum by (${by}) (rate(${metric}{${selector}, ${part}}[${window}]))`;
  return `(${matching} or ${total} * 0) / ${total}`;
}

export function quantile(q: number, histogram: string, by: string[], selector: string): string {
  const labels = [...by, "le"].join(", ");
  return `histogram_quantile(${q}, sum by (${labels}) (rate(${histogram}_bucket{${selector}}[${rateInterval}])))`;
}

function thresholds(spec: PanelSpec): ThresholdsConfigBuilder {
  const builder = new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute);
  if (spec.redAbove !== undefined)
    return builder.steps([
      { value: null, color: "green" },
      { value: spec.redAbove, color: "red" },
    ]);
  if (spec.redBelow !== undefined)
    return builder.steps([
      { value: null, color: "red" },
      { value: spec.redBelow, color: "green" },
    ]);
  return builder.steps([{ value: null, color: "green" }]);
}

function valueMappings(spec: PanelSpec): ValueMapping[] {
  if (!spec.valueText) return [];
  return [{ type: MappingType.ValueToText, options: spec.valueText }];
}

function panelBuilder(spec: PanelSpec, id: number) {
  const targets = spec.queries.map((query, index) =>
    new DataqueryBuilder()
      .datasource(datasource)
      .expr(query.expr)
      .legendFormat(query.legend ?? "__auto")
      .refId(String.fromCharCode(65 + index)),
  );
  const builder =
    spec.kind === "stat"
      ? new StatPanelBuilder()
          .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]))
          .colorMode(common.BigValueColorMode.Value)
          .graphMode(common.BigValueGraphMode.Area)
      : new TimeseriesPanelBuilder()
          .fillOpacity(10)
          .showPoints(common.VisibilityMode.Never)
          .legend(
            new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List),
          )
          .thresholdsStyle(
            new common.GraphThresholdsStyleConfigBuilder().mode(
              spec.redAbove !== undefined || spec.redBelow !== undefined
                ? common.GraphThresholdsStyleMode.Dashed
                : common.GraphThresholdsStyleMode.Off,
            ),
          );
  builder
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(datasource)
    .unit(spec.unit)
    .thresholds(thresholds(spec))
    .span(spec.width ?? 8)
    .height(spec.height ?? (spec.kind === "stat" ? 4 : 8))
    .targets(targets);
  if (spec.min !== undefined) builder.min(spec.min);
  if (spec.max !== undefined) builder.max(spec.max);
  const mappings = valueMappings(spec);
  if (mappings.length > 0) builder.mappings(mappings);
  return builder;
}

function variables() {
  return [
    new DatasourceVariableBuilder("datasource").label("Data source").type("prometheus"),
    new QueryVariableBuilder("namespace")
      .label("Namespace")
      .description("Kubernetes namespace of the Parley deployment (All matches series without one, locally).")
      .datasource(datasource)
      .query(`label_values(up{job="${scrapeJob}"}, namespace)`)
      .refresh(VariableRefresh.OnTimeRangeChanged)
      .sort(VariableSort.AlphabeticalAsc)
      .includeAll(true)
      .allValue(".*")
      .multi(true),
  ];
}

/** How long a deploy marker lasts: a build first seen within this window counts as deployed. */
const deployWindow = "10m";

/**
 * Deploys, marked on every panel: a (version, commit) of `parley_build_info` that is running now
 * and was not running `deployWindow` ago.
 */
export const deployAnnotationExpr =
  `count by (version, commit) (${metrics.buildInfo.name}{${appSelector}}) unless ` +
  `count by (version, commit) (${metrics.buildInfo.name}{${appSelector}} offset ${deployWindow})`;

function deployAnnotation() {
  return new AnnotationQueryBuilder()
    .name("Deploys")
    .datasource(datasource)
    .enable(true)
    .iconColor("blue")
    .expr(deployAnnotationExpr)
    .titleFormat("Deploy {{version}}")
    .textFormat("commit {{commit}}")
    .tagKeys("version,commit")
    .step("1m");
}

/** Every dashboard links to the runbook, whose sections the alerts' runbook_url point to. */
function runbookLink() {
  return new DashboardLinkBuilder("Runbook")
    .type(DashboardLinkType.Link)
    .url(runbookBaseUrl)
    .tooltip("What each Parley alert means, how to confirm it and what to do")
    .icon("doc")
    .targetBlank(true);
}

/**
 * Builds one dashboard: rows stacked top to bottom; the SDK lays panels out left to right, wrapping at
 * 24 columns. Panel ids are assigned in order.
 */
export function buildDashboard(spec: DashboardSpec): DashboardBuilder {
  const dashboard = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    // Alerts, logs and the runbook speak UTC; so do the dashboards, whoever opens them.
    .timezone("utc")
    .annotation(deployAnnotation())
    .link(runbookLink());
  for (const variable of variables()) dashboard.withVariable(variable);
  let id = 1;
  for (const row of spec.rows) {
    dashboard.withRow(new RowBuilder(row.title).id(id++));
    for (const panel of row.panels) dashboard.withPanel(panelBuilder(panel, id++));
  }
  return dashboard;
}
