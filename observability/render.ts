/**
 * Renders the observability artifacts: the Prometheus rule file, the Alertmanager configuration (and
 * its local variant) and the Grafana dashboards. Pure functions plus one writer; nothing runs at
 * import time, so the infrastructure program and the local platform can both call them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { alertmanagerConfig, localAlertmanagerConfig } from "./alertmanager";
import { type RenderedDashboard, renderDashboards } from "./dashboards";
import { type RuleOptions, ruleFile } from "./rule-file";
import type { RuleFile } from "./types";

export interface Observability {
  /** A plain Prometheus rule file: `{groups: [...]}`. */
  rules: RuleFile;
  rulesYaml: string;
  /** Production Alertmanager config: receivers read their secrets from mounted files. */
  alertmanagerYaml: string;
  /** Same routes and inhibitions, receivers that notify nobody: what the local platform loads. */
  alertmanagerLocalYaml: string;
  dashboards: RenderedDashboard[];
}

const yaml = (value: unknown) => stringify(value, { lineWidth: 0 });

export function renderObservability(options: RuleOptions = {}): Observability {
  const rules = ruleFile(options);
  return {
    rules,
    rulesYaml: yaml(rules),
    alertmanagerYaml: yaml(alertmanagerConfig()),
    alertmanagerLocalYaml: yaml(localAlertmanagerConfig()),
    dashboards: renderDashboards(),
  };
}

/** File names inside the output folder. */
export const observabilityFiles = {
  rules: "rules.yaml",
  alertmanager: "alertmanager.yaml",
  alertmanagerLocal: "alertmanager.local.yaml",
  dashboards: "dashboards",
} as const;

/** Writes rules.yaml, alertmanager.yaml, alertmanager.local.yaml and dashboards/<uid>.json. */
export function writeObservability(outDir = "dist/observability"): Observability {
  const rendered = renderObservability();
  const dashboardsDir = join(outDir, observabilityFiles.dashboards);
  mkdirSync(dashboardsDir, { recursive: true });
  writeFileSync(join(outDir, observabilityFiles.rules), rendered.rulesYaml);
  writeFileSync(join(outDir, observabilityFiles.alertmanager), rendered.alertmanagerYaml);
  writeFileSync(join(outDir, observabilityFiles.alertmanagerLocal), rendered.alertmanagerLocalYaml);
  for (const dashboard of rendered.dashboards) {
    writeFileSync(
      join(dashboardsDir, `${dashboard.uid}.json`),
      `${JSON.stringify(dashboard.json, null, 2)}\n`,
    );
  }
  return rendered;
}
