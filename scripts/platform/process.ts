/**
 * Server processes: started detached with their output in a log file and their PID in a pidfile of
 * the state folder, so a later run can adopt a server it finds alive instead of starting a second one.
 * Only processes this run started are ever stopped, always by PID.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { sleep } from "./steps";

export interface ServerProcess {
  name: string;
  pid: number;
  /** True when this run started it; adopted servers are left running by stop(). */
  owned: boolean;
  logFile: string;
  /** Why the process is no longer running, or undefined while it is. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  /** The TCP port the server will listen on (checked free before starting). */
  port: number;
  command: string;
  args: string[];
  /** The state folder: the server's pidfile and log are `<name>.pid` and `<name>.log` in it. */
  stateDir: string;
  /**
   * Signals that shut the server down, gentlest first; each but the last gets a few seconds
   * (postgres: SIGTERM lets closing sessions finish, then SIGINT is its fast shutdown).
   */
  stopSignals?: NodeJS.Signals[];
  uid?: number;
  gid?: number;
  cwd?: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function logTail(logFile: string, lines = 15): string {
  if (!existsSync(logFile)) return "(no log)";
  return readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

async function exitedWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

async function stopPid(pid: number, signals: NodeJS.Signals[]): Promise<void> {
  for (const [index, signal] of signals.entries()) {
    if (!isAlive(pid)) return;
    process.kill(pid, signal);
    if (await exitedWithin(pid, index < signals.length - 1 ? 3_000 : 15_000)) return;
  }
  process.kill(pid, "SIGKILL");
}

/** A server from an earlier run that is still alive, per its pidfile; otherwise undefined. */
function adopt(name: string, pidFile: string, logFile: string): ServerProcess | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  return {
    name,
    pid,
    owned: false,
    logFile,
    exited: () => (isAlive(pid) ? undefined : "exited"),
    stop: async () => {},
  };
}

function startServer(options: SpawnOptions, pidFile: string, logFile: string): ServerProcess {
  const logFd = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      detached: true,
      stdio: ["ignore", logFd, logFd],
      uid: options.uid,
      gid: options.gid,
      cwd: options.cwd,
    });
  } finally {
    closeSync(logFd);
  }
  let exitReason: string | undefined;
  child.on("exit", (code, signal) => {
    exitReason = `${options.name} exited (${signal ?? `code ${code}`}); log ${logFile}:\n${logTail(logFile)}`;
  });
  child.on("error", (error) => {
    exitReason = `${options.name} could not start: ${error.message}`;
  });
  child.unref();
  const pid = child.pid ?? -1;
  if (pid > 0) writeFileSync(pidFile, `${pid}\n`);
  return {
    name: options.name,
    pid,
    owned: true,
    logFile,
    exited: () => exitReason,
    stop: async () => {
      if (pid > 0) await stopPid(pid, options.stopSignals ?? ["SIGTERM"]);
      rmSync(pidFile, { force: true });
    },
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * The server this state folder already runs (adopted: left running by stop()), or a new one.
 * A port taken by some other program is reported instead of starting a server that cannot bind.
 */
export async function adoptOrStart(options: SpawnOptions): Promise<ServerProcess> {
  const pidFile = join(options.stateDir, `${options.name}.pid`);
  const logFile = join(options.stateDir, `${options.name}.log`);
  const adopted = adopt(options.name, pidFile, logFile);
  if (adopted) return adopted;
  if (!(await portIsFree(options.port))) {
    throw new Error(
      `port ${options.port} for ${options.name} is already in use by another program: stop it, or choose other ports`,
    );
  }
  return startServer(options, pidFile, logFile);
}
