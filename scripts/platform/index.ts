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
import { isAlive, type ServerProcess } from "./process";
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

/** Local ports away from the standard ones (5432, 6379, 9090, 9093) a user may already run. */
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

/** The servers of the local platform, by the names their pidfiles and logs carry. */
export const serverNames = [
  "postgres-primary",
  "postgres-replica",
  "redis",
  "prometheus",
  "alertmanager",
] as const;
export type ServerName = (typeof serverNames)[number];

export type ServerState = "running" | "paused" | "stopped" | "exited";

/** One server that can be stopped, started again, paused and resumed while the others keep running. */
export interface ManagedServer {
  name: ServerName;
  state(): ServerState;
  /** Why it exited, when it did so on its own. */
  exitReason(): string | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: the process stays, answers nothing (a frozen server). */
  pause(): void;
  resume(): void;
}

export interface Platform {
  stateDir: string;
  binaries: Binaries;
  postgresPrimary: PostgresServer;
  postgresReplica: PostgresServer;
  redis: RedisServer;
  prometheus: PrometheusServer;
  alertmanager: AlertmanagerServer;
  servers: Record<ServerName, ManagedServer>;
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
  const pg = { bin: binaries.postgresBin, stateDir, ephemeral };
  // Prometheus started again must scrape what it scraped before.
  const scrapeTargets: Record<string, string[]> = { ...(options.scrapeJobs ?? {}) };

  let primary: PostgresServer | undefined;
  const launchers: Record<ServerName, { title: string; launch(): Promise<{ process: ServerProcess }> }> = {
    "postgres-primary": {
      title: `postgres primary answering on 127.0.0.1:${ports.postgresPrimary}`,
      launch: () => startPostgresPrimary({ ...pg, port: ports.postgresPrimary }),
    },
    "postgres-replica": {
      title: `postgres replica streaming and replayed on 127.0.0.1:${ports.postgresReplica}`,
      launch: () =>
        startPostgresReplica({ ...pg, port: ports.postgresReplica, primary: primary as PostgresServer }),
    },
    redis: {
      title: `redis answering on 127.0.0.1:${ports.redis}`,
      launch: () => startRedis({ bin: binaries.redisServer, stateDir, port: ports.redis }),
    },
    prometheus: {
      title: `prometheus scraping on 127.0.0.1:${ports.prometheus} (first sample stored)`,
      launch: () =>
        startPrometheus({
          bin: binaries.prometheus,
          stateDir,
          port: ports.prometheus,
          ruleFiles: (options.ruleFiles ?? []).map((file) => resolve(file)),
          jobs: scrapeTargets,
          alertmanagerPort: ports.alertmanager,
          scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 5,
        }),
    },
    alertmanager: {
      title: `alertmanager ready on 127.0.0.1:${ports.alertmanager}`,
      launch: () =>
        startAlertmanager({
          bin: binaries.alertmanager,
          stateDir,
          port: ports.alertmanager,
          configFile: options.alertmanagerConfigFile,
        }),
    },
  };

  const handles = new Map<ServerName, { process: ServerProcess }>();
  const deliberatelyStopped = new Set<ServerName>();
  const paused = new Set<ServerName>();
  const startOrder: ServerName[] = [];
  const launch = async <T extends { process: ServerProcess }>(name: ServerName): Promise<T> => {
    const server = (await step(log, launchers[name].title, () => launchers[name].launch())) as T;
    handles.set(name, server);
    if (!startOrder.includes(name)) startOrder.push(name);
    return server;
  };
  const stopOne = async (name: ServerName) => {
    const server = handles.get(name);
    if (!server) return;
    if (paused.delete(name) && isAlive(server.process.pid)) process.kill(server.process.pid, "SIGCONT");
    await server.process.stop().catch(() => undefined);
  };
  const stop = async () => {
    for (const name of [...startOrder].reverse()) await stopOne(name);
    startOrder.length = 0;
  };
  /** Like Promise.all, but waits for every start to settle so a failure leaves nothing untracked. */
  const all = async <T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> => {
    const settled = await Promise.allSettled(starts);
    const failed = settled.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as T;
  };

  try {
    const [postgresPrimary, redis, alertmanager] = await all([
      launch<PostgresServer>("postgres-primary"),
      launch<RedisServer>("redis"),
      launch<AlertmanagerServer>("alertmanager"),
    ]);
    primary = postgresPrimary;
    const [postgresReplica, prometheus] = await all([
      launch<PostgresServer>("postgres-replica"),
      launch<PrometheusServer>("prometheus"),
    ]);
    const setTargets = prometheus.setTargets;
    prometheus.setTargets = (job, targets) => {
      scrapeTargets[job] = targets;
      setTargets(job, targets);
    };
    const byName: Record<ServerName, { process: ServerProcess }> = {
      "postgres-primary": postgresPrimary,
      "postgres-replica": postgresReplica,
      redis,
      prometheus,
      alertmanager,
    };
    const managed = (name: ServerName): ManagedServer => {
      const current = () => (handles.get(name) as { process: ServerProcess }).process;
      const exitReason = () => (deliberatelyStopped.has(name) ? undefined : current().exited());
      return {
        name,
        exitReason,
        state: () =>
          deliberatelyStopped.has(name)
            ? "stopped"
            : current().exited()
              ? "exited"
              : paused.has(name)
                ? "paused"
                : "running",
        stop: async () => {
          deliberatelyStopped.add(name);
          await stopOne(name);
        },
        start: async () => {
          if (!deliberatelyStopped.has(name) && !current().exited()) return;
          const fresh = await launch(name);
          // Callers hold the server objects returned below: give them the new process.
          byName[name].process = fresh.process;
          deliberatelyStopped.delete(name);
        },
        pause: () => {
          if (deliberatelyStopped.has(name) || current().exited()) throw new Error(`${name} is not running`);
          process.kill(current().pid, "SIGSTOP");
          paused.add(name);
        },
        resume: () => {
          if (!paused.delete(name)) return;
          process.kill(current().pid, "SIGCONT");
        },
      };
    };
    const servers = Object.fromEntries(serverNames.map((name) => [name, managed(name)])) as Record<
      ServerName,
      ManagedServer
    >;
    const failure = () => serverNames.map((name) => servers[name].exitReason()).find(Boolean);
    return {
      stateDir,
      binaries,
      postgresPrimary,
      postgresReplica,
      redis,
      prometheus,
      alertmanager,
      servers,
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
