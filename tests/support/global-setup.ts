/**
 * Global set-up of the integration project: one ephemeral platform (PostgreSQL primary + replica,
 * Redis, Prometheus loaded with the project's rendered rules, Alertmanager) on free ports, in a state
 * folder removed afterwards. Test files reach it through `inject("platform")` (see ./platform.ts).
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { observabilityFiles, writeObservability } from "../../observability/render";
import { freePorts, removeStateDir, startPlatform } from "../../scripts/platform";
import { buildWeb } from "../../web/build";
import type { PlatformInfo } from "./platform";

export default async function setup(project: TestProject) {
  const stateDir = join(process.cwd(), ".state", `test-${process.pid}`);
  removeStateDir(stateDir);
  console.log("Starting the integration platform:");
  // The app started in-process from the sources serves the chat page from dist/web.
  await buildWeb();
  const observabilityDir = join(stateDir, "observability");
  writeObservability(observabilityDir);
  const platform = await startPlatform({
    stateDir,
    ports: await freePorts(),
    ephemeral: true,
    ruleFiles: [join(observabilityDir, observabilityFiles.rules)],
    scrapeIntervalSeconds: 1,
    scrapeJobs: { parley: [] },
  });
  const info: PlatformInfo = {
    stateDir,
    postgres: { primaryUrl: platform.postgresPrimary.url, replicaUrl: platform.postgresReplica.url },
    redis: { url: platform.redis.url, port: platform.redis.port },
    prometheus: { url: platform.prometheus.url },
    alertmanager: { url: platform.alertmanager.url },
    binaries: platform.binaries,
  };
  project.provide("platform", info);
  return async () => {
    await platform.stop();
    removeStateDir(stateDir);
  };
}
