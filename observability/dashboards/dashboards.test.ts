import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Ajv from "ajv";
import { createGenerator } from "ts-json-schema-generator";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { scrapeJob } from "../../contracts/metrics";
import {
  dashboardQueries,
  type GridPos,
  type PanelJson,
  panelsOf,
} from "../../tests/support/observability/dashboard-inspect";
import {
  run,
  substituteGrafanaVariables,
  tools,
  withTempDir,
} from "../../tests/support/observability/observability-tools";
import { runbookBaseUrl } from "../config/runbook";
import { renderDashboards } from ".";
import { datasource, deployAnnotationExpr } from "./panels";

/**
 * Rendered again before each test rather than once at collection, so a mutation run (npm run
 * test:mutation) credits the dashboard code to the tests that check it. The uids name the cases.
 */
let dashboards: ReturnType<typeof renderDashboards>;
beforeEach(() => {
  dashboards = renderDashboards();
});
const dashboardUids = renderDashboards().map((dashboard) => dashboard.uid);
const dashboardNamed = (uid: string) => dashboards.find((dashboard) => dashboard.uid === uid)!;

/** The v1 dashboard schema, generated from @grafana/schema's TypeScript types. */
function grafanaDashboardSchema(): object {
  const root = dirname(require.resolve("@grafana/schema/package.json"));
  const path = join(root, "dist", "types", "raw", "dashboard", "x", "types.gen.d.ts");
  return createGenerator({ path, type: "Dashboard", skipTypeCheck: true, expose: "export" }).createSchema(
    "Dashboard",
  );
}

/**
 * The v1 schema types an annotation's query as the built-in Grafana datasource's ("TODO.. this should
 * just be a normal query target"), so a Prometheus annotation's own fields (expr, titleFormat,
 * textFormat, tagKeys, step), which the foundation SDK writes and Grafana reads, are not in it. They
 * are left out of the schema check only; the deploy annotation test checks them.
 */
const prometheusAnnotationFields = ["expr", "titleFormat", "textFormat", "tagKeys", "step"];
function withoutPrometheusAnnotationFields(json: object): object {
  const copy = structuredClone(json) as { annotations?: { list?: Array<Record<string, unknown>> } };
  for (const annotation of copy.annotations?.list ?? []) {
    for (const field of prometheusAnnotationFields) delete annotation[field];
  }
  return copy;
}

describe("Grafana dashboards", () => {
  let validate: ReturnType<Ajv["compile"]>;

  beforeAll(() => {
    validate = new Ajv({ allErrors: true, strict: false }).compile(grafanaDashboardSchema());
  }, 60_000);

  it("cover the service, SLOs, database, cache, AI provider and scaling", () => {
    expect(dashboards.map((dashboard) => dashboard.uid)).toEqual([
      "parley-overview",
      "parley-slo",
      "parley-database",
      "parley-cache",
      "parley-ai",
      "parley-scaling",
    ]);
  });

  it.each(dashboardUids)("%s is valid against the @grafana/schema dashboard schema", (uid) => {
    const dashboard = dashboardNamed(uid);
    const valid = validate(withoutPrometheusAnnotationFields(dashboard.json));
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it("rejects an invalid dashboard (the schema check can fail)", () => {
    const broken = structuredClone(dashboards[0]!.json) as { panels: Array<{ gridPos: unknown }> };
    broken.panels[0]!.gridPos = { x: "left" };
    expect(validate(broken)).toBe(false);
  });

  it("have unique uids and titles", () => {
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
    expect(new Set(dashboards.map((d) => d.title)).size).toBe(dashboards.length);
    for (const dashboard of dashboards) expect((dashboard.json as { uid: string }).uid).toBe(dashboard.uid);
  });

  it.each(dashboardUids)(
    "%s has unique panel ids and non-overlapping panels inside the 24-column grid",
    (uid) => {
      const dashboard = dashboardNamed(uid);
      const panels = panelsOf(dashboard.json);
      const ids = panels.map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      const boxes = panels.map((panel) => panel.gridPos as GridPos);
      for (const { x, y, w, h } of boxes) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(y).toBeGreaterThanOrEqual(0);
        expect(w).toBeGreaterThan(0);
        expect(h).toBeGreaterThan(0);
        expect(x + w).toBeLessThanOrEqual(24);
      }
      boxes.forEach((a, i) => {
        boxes.slice(i + 1).forEach((b) => {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `panels overlap: ${JSON.stringify(a)} ${JSON.stringify(b)}`).toBe(false);
        });
      });
    },
  );

  it.each(dashboardUids)(
    "%s has datasource and namespace variables and a unit, a description and a query on every panel",
    (uid) => {
      const dashboard = dashboardNamed(uid);
      const variables = (dashboard.json as { templating: { list: Array<{ name: string; type: string }> } })
        .templating.list;
      expect(variables.map((variable) => [variable.name, variable.type])).toEqual([
        ["datasource", "datasource"],
        ["namespace", "query"],
      ]);
      const panels = panelsOf(dashboard.json).filter((panel) => panel.type !== "row");
      expect(panels.length).toBeGreaterThan(0);
      for (const panel of panels as PanelJson[]) {
        expect(panel.description, panel.title).toMatch(/\w{3,}/);
        expect(panel.fieldConfig?.defaults?.unit, panel.title).toMatch(/\w+/);
        expect(panel.datasource).toEqual(datasource);
        expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      }
    },
  );

  it.each(dashboardUids)(
    "%s shows UTC, marks deploys from parley_build_info and links the runbook",
    (uid) => {
      const dashboard = dashboardNamed(uid);
      const json = dashboard.json as {
        timezone: string;
        annotations: { list: Array<{ name: string; expr?: string; datasource?: unknown; enable: boolean }> };
        links: Array<{ url: string; type: string }>;
      };
      expect(json.timezone).toBe("utc");
      const deploys = json.annotations.list.find((annotation) => annotation.name === "Deploys");
      expect(deploys).toMatchObject({
        expr: deployAnnotationExpr,
        datasource,
        enable: true,
        titleFormat: "Deploy {{version}}",
        textFormat: "commit {{commit}}",
      });
      expect(deploys?.expr).toContain("parley_build_info");
      expect(json.links).toContainEqual(expect.objectContaining({ type: "link", url: runbookBaseUrl }));
    },
  );

  it("take p95 panels over API requests without streams or health checks, and 5xx ratios from the 5xx series", () => {
    const queries = dashboardQueries(dashboards);
    const quantiles = queries.filter(
      ({ expr }) =>
        expr.includes("histogram_quantile") && expr.includes("parley_http_request_duration_seconds"),
    );
    expect(quantiles.length).toBeGreaterThan(3);
    for (const { panel, expr } of quantiles) {
      expect(expr, panel).toContain('route=~"/api/.+"');
      expect(expr, panel).toContain("unless on (method, route, status_code)");
    }
    for (const { panel, expr } of queries.filter(({ panel }) => /5xx ratio/.test(panel))) {
      expect(expr, panel).toContain('status_code=~"5.."');
      expect(expr, panel).not.toContain('status_code!~"5.."');
    }
  });

  it("use $__rate_interval for every rate and the namespace variable for every app query", () => {
    const queries = dashboardQueries(dashboards);
    expect(queries.length).toBeGreaterThan(30);
    for (const { expr, panel } of queries) {
      for (const range of expr.matchAll(/\[([^\]]+)\]/g)) {
        // The SLO panels measure over the objective's fixed window; everything else follows the zoom.
        if (range[1] !== "30d") expect(range[1], `${panel}: ${expr}`).toBe("$__rate_interval");
      }
      for (const selector of expr.matchAll(/\{([^}]*)\}/g)) {
        if (selector[1]!.includes(`job="${scrapeJob}"`) || selector[1]!.includes("slo=")) {
          expect(selector[1], `${panel}: ${expr}`).toContain('namespace=~"$namespace"');
        }
      }
    }
  });

  it("have PromQL that parses (promtool checks every query as a recording rule)", () => {
    const { promtool } = tools();
    const queries = [
      ...dashboardQueries(dashboards).map((query) => query.expr),
      deployAnnotationExpr,
      ...dashboards.flatMap((dashboard) =>
        (dashboard.json as { templating: { list: Array<{ query?: unknown }> } }).templating.list
          .map((variable) => variable.query)
          .filter((query): query is string => typeof query === "string")
          // label_values(<selector>, label) is Grafana's; its selector is PromQL.
          .map((query) => query.replace(/^label_values\((.*), \w+\)$/, "$1")),
      ),
    ];
    withTempDir((dir) => {
      const rules = {
        groups: [
          {
            name: "dashboard-queries",
            rules: queries.map((expr, index) => ({
              record: `dashboard:query_${index}:check`,
              expr: substituteGrafanaVariables(expr),
            })),
          },
        ],
      };
      writeFileSync(join(dir, "queries.yaml"), stringify(rules, { lineWidth: 0 }));
      const result = run(promtool, ["check", "rules", "queries.yaml"], dir);
      expect(result.status, result.output).toBe(0);
      expect(result.output).toContain(`SUCCESS: ${queries.length} rules found`);
      // A query that does not parse makes the same check fail.
      writeFileSync(
        join(dir, "broken.yaml"),
        stringify({ groups: [{ name: "b", rules: [{ record: "b:c", expr: "sum(rate(x[5m])" }] }] }),
      );
      expect(run(promtool, ["check", "rules", "broken.yaml"], dir).status).not.toBe(0);
    });
  });
});
