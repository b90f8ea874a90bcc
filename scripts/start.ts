/**
 * `npm start`: the local platform in the foreground — PostgreSQL primary + streaming replica, Redis,
 * Prometheus (loaded with the project's rendered rules, scraping the app) and Alertmanager — and the
 * Parley app on top, migrated and seeded with a demo tenant. Ctrl-C stops everything this run started.
 *
 * PARLEY_STATE_DIR (default .state/local) holds data and logs; PARLEY_FREE_PORTS=1 picks free ports
 * instead of the fixed local ones (used by the test of this command); PORT moves the app (default 3000).
 */
import { join, resolve } from "node:path";
import { defaultPort } from "../contracts/environment";
import { scrapeJob } from "../contracts/metrics";
import { observabilityFiles, writeObservability } from "../observability/render";
import { type LocalApp, startLocalApp } from "./local-app";
import {
  freePorts,
  localPorts,
  onShutdownSignal,
  type ServerName,
  serverNames,
  startPlatform,
} from "./platform";
import { serveControl } from "./platform/control";
import { defaultLog, step } from "./platform/steps";

async function main(): Promise<void> {
  const stateDir = resolve(process.env.PARLEY_STATE_DIR ?? ".state/local");
  const freePortsWanted = process.env.PARLEY_FREE_PORTS === "1";
  const ports = freePortsWanted ? await freePorts() : { ...localPorts };
  // With free ports the app binds port 0 and Prometheus learns the port it got: a port chosen in
  // advance could be taken by another process in the seconds before the app binds it.
  const appPort = freePortsWanted ? 0 : Number(process.env.PORT ?? defaultPort);
  const started = performance.now();
  console.log(`Starting the Parley local platform (state in ${stateDir}):`);
  const observabilityDir = join(stateDir, "observability");
  await step(defaultLog, "alert rules and dashboards rendered", async () =>
    writeObservability(observabilityDir),
  );
  const platform = await startPlatform({
    stateDir,
    ports,
    ruleFiles: [join(observabilityDir, observabilityFiles.rules)],
    alertmanagerConfigFile: join(observabilityDir, observabilityFiles.alertmanagerLocal),
    // The app's target is written once it listens and its port is known.
    scrapeJobs: { [scrapeJob]: [] },
  });
  let local: LocalApp | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const control = await serveControl(platform, defaultLog);
  onShutdownSignal(async () => {
    clearInterval(watchdog);
    console.log("\nStopping the app and the local platform…");
    control.close();
    await local?.app.close();
    await platform.stop();
    console.log("Stopped.");
  });
  try {
    local = await startLocalApp(platform, {
      port: appPort,
      step: (title, run) => step(defaultLog, title, run),
    });
  } catch (error) {
    await platform.stop();
    throw error;
  }
  platform.prometheus.setTargets(scrapeJob, [new URL(local.app.url).host]);
  // Stay in the foreground. A server that dies is reported once; the others keep running (as in a
  // fault drill), and `npm run platform -- start <server>` brings it back.
  const reported = new Set<ServerName>();
  watchdog = setInterval(() => {
    for (const name of serverNames) {
      const reason = platform.servers[name].exitReason();
      if (!reason) reported.delete(name);
      else if (!reported.has(name)) {
        reported.add(name);
        console.error(
          `  ✘ ${reason}\n    The rest keeps running; \`npm run platform -- start ${name}\` starts it again.`,
        );
      }
    }
  }, 1_000);
  const { app, demo, logFile } = local;
  console.log(`
Parley is up (${((performance.now() - started) / 1000).toFixed(1)}s):
  App                 ${app.url}  (chat page at /, metrics at /metrics; log ${logFile})
  PostgreSQL primary  ${platform.postgresPrimary.url}
  PostgreSQL replica  ${platform.postgresReplica.url}
  Redis               ${platform.redis.url}
  Prometheus          ${platform.prometheus.url}  (rules: ${join(observabilityDir, observabilityFiles.rules)})
  Alertmanager        ${platform.alertmanager.url}
Demo login: ${demo.email} / ${demo.password}  (chatbot ${demo.chatbotId})
Try:
  curl -s ${app.url}/api/auth/login -H 'content-type: application/json' \\
    -d '{"email":"${demo.email}","password":"${demo.password}"}'
Fault drills: npm run platform -- stop|start|pause|unpause <${serverNames.join("|")}>, or status.
Logs: ${stateDir}/*.log — press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
  console.error(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
