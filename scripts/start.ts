/**
 * `npm start`: the local platform in the foreground — PostgreSQL primary + streaming replica, Redis,
 * Prometheus and Alertmanager — then prints the URLs. Ctrl-C stops everything this run started.
 *
 * PARLEY_STATE_DIR (default .state/local) holds data and logs; PARLEY_FREE_PORTS=1 picks free ports
 * instead of the fixed local ones (used by the test of this command).
 */
import { resolve } from "node:path";
import { freePorts, localPorts, MissingBinariesError, onShutdownSignal, startPlatform } from "./platform";

async function main(): Promise<void> {
  const stateDir = resolve(process.env.PARLEY_STATE_DIR ?? ".state/local");
  const ports = process.env.PARLEY_FREE_PORTS === "1" ? await freePorts() : { ...localPorts };
  const started = performance.now();
  console.log(`Starting the Parley local platform (state in ${stateDir}):`);
  const platform = await startPlatform({ stateDir, ports, scrapeJobs: { parley: [] } });
  onShutdownSignal(async () => {
    console.log("\nStopping the local platform…");
    await platform.stop();
    console.log("Stopped.");
  });
  // Stay in the foreground; if a server dies, say which and stop the rest.
  const watchdog = setInterval(async () => {
    const failure = platform.failure();
    if (!failure) return;
    clearInterval(watchdog);
    console.error(`A server stopped unexpectedly: ${failure}`);
    await platform.stop();
    process.exit(1);
  }, 1_000);
  console.log(`
Parley local platform is up (${((performance.now() - started) / 1000).toFixed(1)}s):
  PostgreSQL primary  ${platform.postgresPrimary.url}
  PostgreSQL replica  ${platform.postgresReplica.url}
  Redis               ${platform.redis.url}
  Prometheus          ${platform.prometheus.url}
  Alertmanager        ${platform.alertmanager.url}
Logs: ${stateDir}/*.log — press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
  const message =
    error instanceof MissingBinariesError || error instanceof Error ? error.message : String(error);
  console.error(`npm start failed: ${message}`);
  process.exit(1);
});
