/**
 * Offline checks with the Prometheus and Alertmanager tools (promtool, amtool), shared by the unit
 * tests of the rules and of the dashboards.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinaries } from "../scripts/platform";
import type { Binaries } from "../scripts/platform/binaries";

export function tools(): Pick<Binaries, "promtool" | "amtool"> {
  return ensureBinaries(["prometheus", "alertmanager"], (line) => console.log(line));
}

export interface ToolResult {
  status: number | null;
  output: string;
}

export function run(command: string, args: string[], cwd?: string): ToolResult {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `use` with a fresh temporary folder, removed afterwards. */
export function withTempDir<T>(use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "parley-observability-"));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Grafana's variables replaced by values Prometheus accepts, so a dashboard query can be parsed by
 * promtool or run against a real Prometheus. `All` namespaces is `.*`, as in the dashboards.
 */
export function substituteGrafanaVariables(expr: string, rateInterval = "1m"): string {
  return expr
    .replaceAll("$__rate_interval", rateInterval)
    .replaceAll("$__interval", "15s")
    .replaceAll("$__range", "1h")
    .replaceAll("$namespace", ".*")
    .replaceAll("$datasource", "prometheus");
}
