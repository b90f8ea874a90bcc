/**
 * Offline checks with the Prometheus and Alertmanager tools (promtool, amtool), shared by the tests
 * of the rules, the Alertmanager config and the dashboards. Test support: production code under
 * observability/ never imports it (nor the platform binaries it downloads).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { ensureBinaries } from "../../../scripts/platform";
import type { Binaries } from "../../../scripts/platform/binaries";

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

/**
 * `run` without blocking the test worker: a long promtool run (every unit test file) would otherwise
 * hold the worker's event loop past vitest's 60-second RPC timeout and fail the run.
 */
export function runAsync(command: string, args: string[], cwd?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, timeout: 300_000 });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
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

/** `withTempDir` for an asynchronous `use`: the folder is removed once it settles. */
export async function withTempDirAsync<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "parley-observability-"));
  try {
    return await use(dir);
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

/**
 * Debian's amtool here is 0.25, which predates `url_file` in webhook configs (Alertmanager 0.26,
 * prometheus/alertmanager#3223; the Prometheus Operator passes it through). For that amtool only,
 * each webhook's `url_file` becomes a placeholder `url`; everything else is checked as shipped.
 */
export function forLocalAmtool(configYaml: string): string {
  const config = parse(configYaml) as {
    receivers?: Array<{ webhook_configs?: Array<Record<string, unknown>> }>;
  };
  for (const receiver of config.receivers ?? []) {
    for (const webhook of receiver.webhook_configs ?? []) {
      if (typeof webhook.url_file !== "string") continue;
      delete webhook.url_file;
      webhook.url = "https://url-file.invalid/";
    }
  }
  return stringify(config, { lineWidth: 0 });
}
