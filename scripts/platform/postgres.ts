/** PostgreSQL primary and streaming replica for the local platform and the integration tests. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { runCommand } from "./command";
import { adoptOrStart, type ServerProcess } from "./process";
import { waitFor } from "./steps";

export interface PostgresServer {
  process: ServerProcess;
  port: number;
  /** Superuser URL (trust authentication on 127.0.0.1) for the `postgres` database. */
  url: string;
}

interface OsUser {
  uid?: number;
  gid?: number;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user. */
function serverUser(): OsUser {
  if (process.getuid?.() !== 0) return {};
  try {
    const [, , uid, gid] = runCommand("looking up the postgres OS user", "getent", [
      "passwd",
      "postgres",
    ]).split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    throw new Error("running as root needs the `postgres` OS user (created by `apt-get install postgresql`)");
  }
}

/** The name, in a state folder, of the link to PostgreSQL data kept outside it. */
export const externalDataLink = "postgres-data";

/**
 * Where the PostgreSQL data folders live: the state folder when the server's OS user can enter it;
 * otherwise — as root in a checkout under /root or a 0700 temporary folder, which the `postgres` user
 * cannot enter — a folder in that user's home named after the state folder, linked from the state
 * folder as `postgres-data` so later runs adopt it and cleanup (removeStateDir) finds it.
 */
function dataRoot(stateDir: string, user: OsUser): string {
  if (user.uid === undefined) return stateDir;
  const link = join(stateDir, externalDataLink);
  if (existsSync(link)) return realpathSync(link);
  const canEnter = spawnSync("test", ["-x", stateDir], { uid: user.uid, gid: user.gid }).status === 0;
  if (canEnter) return stateDir;
  const home = runCommand("looking up the postgres OS user", "getent", ["passwd", "postgres"])
    .split(":")[5]
    ?.trim();
  if (!home || !existsSync(home)) {
    throw new Error(
      `the postgres OS user cannot enter ${stateDir} and has no home folder to keep its data in: set PARLEY_STATE_DIR to a folder it can enter`,
    );
  }
  const parent = join(home, "parley");
  ownedDir(parent, user, 0o700);
  const dir = join(parent, createHash("sha256").update(stateDir).digest("hex").slice(0, 16));
  ownedDir(dir, user, 0o700);
  rmSync(link, { force: true });
  symlinkSync(dir, link);
  return dir;
}

/** PostgreSQL data a state folder keeps elsewhere (see dataRoot), or undefined. */
export function externalDataOf(stateDir: string): string | undefined {
  const link = join(stateDir, externalDataLink);
  return existsSync(link) ? realpathSync(link) : undefined;
}

function ownedDir(path: string, user: OsUser, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  if (user.uid !== undefined && user.gid !== undefined) chownSync(path, user.uid, user.gid);
}

export const postgresUrl = (port: number, database = "postgres") =>
  `postgres://postgres@127.0.0.1:${port}/${database}`;

async function query<T>(url: string, sql: string): Promise<T | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    const result = await client.query(sql);
    return result.rows[0] as T | undefined;
  } finally {
    await client.end();
  }
}

function serverArgs(dataDir: string, port: number, ephemeral: boolean): string[] {
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dataDir,
    wal_level: "replica",
    max_wal_senders: 10,
    max_replication_slots: 10,
    hot_standby: "on",
    hot_standby_feedback: "on",
    max_connections: 300,
    shared_buffers: "128MB",
    // Commits stay synchronous: waitForReplay compares against the primary's written WAL, which an
    // asynchronous commit may not have reached yet. Throwaway data skips the fsyncs instead.
    ...(ephemeral ? { fsync: "off", full_page_writes: "off" } : {}),
  };
  return ["-D", dataDir, ...Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`])];
}

async function launch(
  name: string,
  bin: string,
  dataDir: string,
  stateDir: string,
  port: number,
  user: OsUser,
  ephemeral: boolean,
): Promise<PostgresServer> {
  const url = postgresUrl(port);
  const running = await adoptOrStart({
    name,
    port,
    command: join(bin, "postgres"),
    args: serverArgs(dataDir, port, ephemeral),
    stateDir,
    stopSignals: ["SIGTERM", "SIGINT"],
    // The server user may not be able to enter the caller's working directory (a checkout in /root).
    cwd: dataDir,
    ...user,
  });
  await waitFor(`${name} to answer a query on port ${port}`, () => query(url, "SELECT 1 AS ok"), {
    abort: running.exited,
  });
  return { process: running, port, url };
}

export interface PostgresOptions {
  bin: string;
  stateDir: string;
  port: number;
  /** Throw-away data (tests): trade crash safety for speed. */
  ephemeral: boolean;
}

export async function startPostgresPrimary(options: PostgresOptions): Promise<PostgresServer> {
  const user = serverUser();
  const dataDir = join(dataRoot(options.stateDir, user), "pg-primary");
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    ownedDir(dataDir, user, 0o700);
    runCommand(
      "initializing the PostgreSQL primary",
      join(options.bin, "initdb"),
      [
        "-D",
        dataDir,
        "--auth=trust",
        "--username=postgres",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
      ],
      { cwd: dataDir, ...user },
    );
  }
  return launch(
    "postgres-primary",
    options.bin,
    dataDir,
    options.stateDir,
    options.port,
    user,
    options.ephemeral,
  );
}

/** A streaming replica of `primary` (pg_basebackup with a replication slot), ready once it has replayed. */
export async function startPostgresReplica(
  options: PostgresOptions & { primary: PostgresServer },
): Promise<PostgresServer> {
  const user = serverUser();
  const dataDir = join(dataRoot(options.stateDir, user), "pg-replica");
  const slot = "parley_replica";
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    // A slot left by a replica whose data folder was removed would make pg_basebackup -C fail.
    await query(
      options.primary.url,
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slot}' AND NOT active`,
    );
    ownedDir(dataDir, user, 0o700);
    runCommand(
      "copying the primary into the PostgreSQL replica",
      join(options.bin, "pg_basebackup"),
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(options.primary.port),
        "-U",
        "postgres",
        "-D",
        dataDir,
        "-R",
        "-X",
        "stream",
        "-S",
        slot,
        "-C",
      ],
      { cwd: dataDir, ...user },
    );
  }
  const replica = await launch(
    "postgres-replica",
    options.bin,
    dataDir,
    options.stateDir,
    options.port,
    user,
    options.ephemeral,
  );
  await waitForReplay(options.primary.url, replica.url);
  return replica;
}

/** Waits until the replica has replayed everything the primary had written when this was called. */
export async function waitForReplay(
  primaryUrl: string,
  replicaUrl: string,
  timeoutMs = 30_000,
): Promise<void> {
  const target = await query<{ lsn: string }>(primaryUrl, "SELECT pg_current_wal_lsn()::text AS lsn");
  await waitFor(
    `the replica to replay up to ${target?.lsn}`,
    async () => {
      const row = await query<{ caught_up: boolean }>(
        replicaUrl,
        `SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '${target?.lsn}'::pg_lsn AS caught_up`,
      );
      return row?.caught_up ? true : undefined;
    },
    { timeoutMs, intervalMs: 20 },
  );
}
