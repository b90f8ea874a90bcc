/**
 * Prometheus (loaded with rule files, scraping targets listed in file_sd files that can change while
 * it runs) and Alertmanager, for the local platform and the integration tests.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { adoptOrStart, type ServerProcess } from "./process";
import { waitFor } from "./steps";

export interface PrometheusServer {
  process: ServerProcess;
  port: number;
  url: string;
  configFile: string;
  /** Replaces the targets of a scrape job (Prometheus watches the file and picks the change up). */
  setTargets(job: string, targets: string[]): void;
}

export interface AlertmanagerServer {
  process: ServerProcess;
  port: number;
  url: string;
}

export interface PrometheusOptions {
  bin: string;
  stateDir: string;
  port: number;
  ruleFiles: string[];
  /** Scrape jobs and their initial `host:port` targets. */
  jobs: Record<string, string[]>;
  alertmanagerPort?: number;
  scrapeIntervalSeconds: number;
}

export function targetsFile(stateDir: string, job: string): string {
  return join(stateDir, "prometheus", "targets", `${job}.json`);
}

/** Writes a file_sd target list atomically, so Prometheus never reads half a file. */
export function writeTargets(stateDir: string, job: string, targets: string[]): void {
  const file = targetsFile(stateDir, job);
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: {} }]));
  renameSync(`${file}.tmp`, file);
}

export async function queryPrometheus(
  url: string,
  promql: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { result: [] } };
  if (body.status !== "success") throw new Error(`query ${promql} failed: ${body.error}`);
  return body.data?.result ?? [];
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const name = "prometheus";
  const dir = join(options.stateDir, "prometheus");
  mkdirSync(join(dir, "targets"), { recursive: true });
  mkdirSync(join(dir, "data"), { recursive: true });
  const interval = `${options.scrapeIntervalSeconds}s`;
  const jobs = { prometheus: [`127.0.0.1:${options.port}`], ...options.jobs };
  for (const [job, targets] of Object.entries(jobs)) writeTargets(options.stateDir, job, targets);
  const configFile = join(dir, "prometheus.yml");
  writeFileSync(
    configFile,
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: options.ruleFiles,
      ...(options.alertmanagerPort
        ? {
            alerting: {
              alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${options.alertmanagerPort}`] }] }],
            },
          }
        : {}),
      scrape_configs: Object.keys(jobs).map((job) => ({
        job_name: job,
        file_sd_configs: [{ files: [targetsFile(options.stateDir, job)], refresh_interval: "5s" }],
      })),
    }),
  );
  const running = await adoptOrStart({
    name,
    port: options.port,
    command: options.bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      "--web.enable-lifecycle",
      "--storage.tsdb.retention.time=2d",
    ],
    stateDir: options.stateDir,
  });
  const url = `http://127.0.0.1:${options.port}`;
  if (!running.owned) await fetch(`${url}/-/reload`, { method: "POST" }).catch(() => undefined);
  // Ready is not enough: wait for the first scraped sample, which appears several seconds later.
  await waitFor(
    `prometheus on port ${options.port} to store its first scraped sample`,
    async () => ((await queryPrometheus(url, 'up{job="prometheus"}')).length > 0 ? true : undefined),
    { abort: running.exited, timeoutMs: 60_000, intervalMs: 250 },
  );
  return {
    process: running,
    port: options.port,
    url,
    configFile,
    setTargets: (job, targets) => writeTargets(options.stateDir, job, targets),
  };
}

const defaultAlertmanagerConfig = {
  route: {
    receiver: "local",
    group_by: ["alertname"],
    group_wait: "1s",
    group_interval: "5s",
    repeat_interval: "1h",
  },
  receivers: [{ name: "local" }],
};

export async function startAlertmanager(options: {
  bin: string;
  stateDir: string;
  port: number;
  /** Alertmanager configuration file; a single no-op receiver when omitted. */
  configFile?: string;
}): Promise<AlertmanagerServer> {
  const name = "alertmanager";
  const dir = join(options.stateDir, "alertmanager");
  mkdirSync(join(dir, "data"), { recursive: true });
  let configFile = options.configFile;
  if (!configFile) {
    configFile = join(dir, "alertmanager.yml");
    writeFileSync(configFile, stringify(defaultAlertmanagerConfig));
  }
  const running = await adoptOrStart({
    name,
    port: options.port,
    command: options.bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      // No cluster peers locally: without this it binds a gossip port (9094) that may be taken.
      "--cluster.listen-address=",
    ],
    stateDir: options.stateDir,
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitFor(
    `alertmanager on port ${options.port} to be ready`,
    async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
    { abort: running.exited },
  );
  return { process: running, port: options.port, url };
}
