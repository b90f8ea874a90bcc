/**
 * `npm run render`: writes the Prometheus rules, the Alertmanager configs and the Grafana dashboards
 * to dist/observability (or the folder given as the first argument).
 */
import { resolve } from "node:path";
import { observabilityFiles, writeObservability } from "../observability/render";

const outDir = resolve(process.argv[2] ?? "dist/observability");
try {
  const rendered = writeObservability(outDir);
  const alerts = rendered.rules.groups.flatMap((group) => group.rules).filter((rule) => "alert" in rule);
  console.log(
    `wrote ${outDir}: ${observabilityFiles.rules} (${alerts.length} alerting rules), ` +
      `${observabilityFiles.alertmanager}, ${observabilityFiles.alertmanagerLocal}, ` +
      `${observabilityFiles.dashboards}/ (${rendered.dashboards.map((d) => d.uid).join(", ")})`,
  );
} catch (error) {
  console.error(`render failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
