/**
 * The local platform: PostgreSQL primary + streaming replica, Redis, Prometheus and Alertmanager on
 * chosen ports, in a state folder git ignores. Used by `npm start` and by the integration tests'
 * global set-up. Idempotent (servers found alive from an earlier run are adopted, not restarted, and
 * never stopped by this run); stops only what it started, by PID.
 */
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
import { resolve } from "node:path";
import { type Binaries, ensureBinaries, type ServiceName } from "./binaries";
import { externalDataOf, type PostgresServer, startPostgresPrimary, startPostgresReplica } from "./postgres";
import {
  type AlertmanagerServer,
  type PrometheusServer,
  startAlertmanager,
  startPrometheus,
} from "./prometheus";
import { type RedisServer, startRedis } from "./redis";
import { defaultLog, type Log, step } from "./steps";

export { ensureBinaries, MissingBinariesError } from "./binaries";
export { externalDataOf, postgresUrl, waitForReplay } from "./postgres";
export { queryPrometheus, startAlertmanager, startPrometheus, writeTargets } from "./prometheus";
export { ping as pingRedis, startRedis } from "./redis";

/** The suggested local ports from DESIGN.md (away from the standard ones a user may already run). */
export const localPorts = {
  postgresPrimary: 55432,
  postgresReplica: 55433,
  redis: 56379,
  prometheus: 59090,
  alertmanager: 59093,
} as const;

export type PlatformPorts = { -readonly [K in keyof typeof localPorts]: number };

export interface PlatformOptions {
  stateDir: string;
  ports: PlatformPorts;
  /** Prometheus rule files to load. */
  ruleFiles?: string[];
  /** Scrape jobs and their initial targets (`host:port`); targets can change later. */
  scrapeJobs?: Record<string, string[]>;
  scrapeIntervalSeconds?: number;
  alertmanagerConfigFile?: string;
  /** Throw-away data (tests): PostgreSQL runs without fsync. */
  ephemeral?: boolean;
  log?: Log;
}

export interface Platform {
  stateDir: string;
  binaries: Binaries;
  postgresPrimary: PostgresServer;
  postgresReplica: PostgresServer;
  redis: RedisServer;
  prometheus: PrometheusServer;
  alertmanager: AlertmanagerServer;
  /** Stops the servers this run started (never adopted ones), in reverse start order. */
  stop(): Promise<void>;
  /** Why a server is no longer running (the first one found), or undefined while all run. */
  failure(): string | undefined;
}

/**
 * `count` distinct TCP ports that were free a moment ago on 127.0.0.1. All are held open until the
 * last is chosen: released one by one, the kernel may hand the same port out twice.
 */
export async function freePortList(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((listening, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", listening);
      });
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((closed) => server.close(closed))));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [port] = await freePortList(1);
  return port as number;
}

export async function freePorts(): Promise<PlatformPorts> {
  const keys = Object.keys(localPorts) as Array<keyof PlatformPorts>;
  const ports = await freePortList(keys.length);
  return Object.fromEntries(keys.map((key, i) => [key, ports[i]])) as unknown as PlatformPorts;
}

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const log = options.log ?? defaultLog;
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its data folder.
  chmodSync(stateDir, 0o755);
  const { ports } = options;
  const ephemeral = options.ephemeral ?? false;
  const services: ServiceName[] = ["postgres", "redis", "prometheus", "alertmanager"];
  const binaries = await step(log, "server binaries found", async () => ensureBinaries(services, log));

  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async () => {
    for (const server of started.reverse()) await server.stop().catch(() => undefined);
    started.length = 0;
  };
  const track = <T extends { process: { stop(): Promise<void> } }>(server: T): T => {
    started.push(server.process);
    return server;
  };
  /** Like Promise.all, but waits for every start to settle so a failure leaves nothing untracked. */
  const all = async <T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> => {
    const settled = await Promise.allSettled(starts);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T;
  };

  try {
    const pg = { bin: binaries.postgresBin, stateDir, ephemeral };
    const [postgresPrimary, redis, alertmanager] = await all([
      step(log, `postgres primary answering on 127.0.0.1:${ports.postgresPrimary}`, async () =>
        track(await startPostgresPrimary({ ...pg, port: ports.postgresPrimary })),
      ),
      step(log, `redis answering on 127.0.0.1:${ports.redis}`, async () =>
        track(await startRedis({ bin: binaries.redisServer, stateDir, port: ports.redis })),
      ),
      step(log, `alertmanager ready on 127.0.0.1:${ports.alertmanager}`, async () =>
        track(
          await startAlertmanager({
            bin: binaries.alertmanager,
            stateDir,
            port: ports.alertmanager,
            configFile: options.alertmanagerConfigFile,
          }),
        ),
      ),
    ]);
    const [postgresReplica, prometheus] = await all([
      step(log, `postgres replica streaming and replayed on 127.0.0.1:${ports.postgresReplica}`, async () =>
        track(await startPostgresReplica({ ...pg, port: ports.postgresReplica, primary: postgresPrimary })),
      ),
      step(log, `prometheus scraping on 127.0.0.1:${ports.prometheus} (first sample stored)`, async () =>
        track(
          await startPrometheus({
            bin: binaries.prometheus,
            stateDir,
            port: ports.prometheus,
            ruleFiles: (options.ruleFiles ?? []).map((file) => resolve(file)),
            jobs: options.scrapeJobs ?? {},
            alertmanagerPort: ports.alertmanager,
            scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 5,
          }),
        ),
      ),
    ]);
    const servers = [postgresPrimary, postgresReplica, redis, prometheus, alertmanager];
    const failure = () => servers.map((server) => server.process.exited()).find(Boolean);
    return {
      stateDir,
      binaries,
      postgresPrimary,
      postgresReplica,
      redis,
      prometheus,
      alertmanager,
      stop,
      failure,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Removes a state folder and the PostgreSQL data it keeps elsewhere (a checkout the `postgres` user
 * cannot enter). Only for a platform that is stopped.
 */
export function removeStateDir(stateDir: string): void {
  const external = externalDataOf(stateDir);
  if (external) rmSync(external, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}

/** Runs `cleanup` once on SIGINT, SIGTERM or SIGHUP, then exits. */
export function onShutdownSignal(cleanup: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
}
