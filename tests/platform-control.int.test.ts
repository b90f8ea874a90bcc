/**
 * Fault drills on a running platform: one server stopped, started again, frozen and thawed, or killed,
 * while the others keep running — through the same control channel `npm run platform --` uses.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts, type Platform, pingRedis, removeStateDir, startPlatform } from "../scripts/platform";
import { sendControl, serveControl } from "../scripts/platform/control";
import { isAlive } from "../scripts/platform/process";

const repositoryRoot = join(__dirname, "..");

describe("fault drills on the local platform", () => {
  let platform: Platform;
  let control: Server;
  let stateDir: string;
  const actions: string[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(repositoryRoot, ".state", "drills-"));
    platform = await startPlatform({ stateDir, ports: await freePorts(), ephemeral: true, log: () => {} });
    control = await serveControl(platform, (line) => actions.push(line));
  });

  afterAll(async () => {
    control?.close();
    await platform?.stop();
    removeStateDir(stateDir);
  });

  // Asynchronous: the control channel is served by this process, which must not block on the CLI.
  const cli = (args: string[], dir = stateDir) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ["--import", "tsx", "scripts/platform-cli.ts", ...args],
        { cwd: repositoryRoot, encoding: "utf8", env: { ...process.env, PARLEY_STATE_DIR: dir } },
        (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
      ),
    );

  it("stops one server and starts it again while the others keep running", async () => {
    const before = platform.redis.process.pid;
    expect(await sendControl(stateDir, "stop", "redis")).toEqual({ ok: true, message: "redis stopped" });
    expect(isAlive(before)).toBe(false);
    expect(await pingRedis(platform.redis.port)).toBe(false);
    expect(platform.servers.redis.state()).toBe("stopped");
    // A deliberate stop is not a failure, and nothing else went down with it.
    expect(platform.failure()).toBeUndefined();
    expect(isAlive(platform.postgresPrimary.process.pid)).toBe(true);

    expect(await sendControl(stateDir, "start", "redis")).toEqual({ ok: true, message: "redis running" });
    expect(platform.redis.process.pid).not.toBe(before);
    expect(await pingRedis(platform.redis.port)).toBe(true);
    expect(actions.at(-1)).toContain("npm run platform -- start redis: redis running");
  });

  it("freezes a server (it accepts connections and answers nothing) and thaws it", async () => {
    expect((await sendControl(stateDir, "pause", "postgres-primary")).ok).toBe(true);
    const client = new pg.Client({
      connectionString: platform.postgresPrimary.url,
      connectionTimeoutMillis: 1_000,
    });
    await expect(client.connect()).rejects.toThrow(/timeout/i);
    expect(platform.servers["postgres-primary"].state()).toBe("paused");
    expect((await sendControl(stateDir, "unpause", "postgres-primary")).ok).toBe(true);
    const thawed = new pg.Client({
      connectionString: platform.postgresPrimary.url,
      connectionTimeoutMillis: 5_000,
    });
    await thawed.connect();
    expect((await thawed.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await thawed.end();
  });

  it("reports a server that died on its own, and starts it again on request", async () => {
    process.kill(platform.alertmanager.process.pid, "SIGKILL");
    await expect.poll(() => platform.servers.alertmanager.state(), { timeout: 10_000 }).toBe("exited");
    expect(platform.failure()).toMatch(/^alertmanager exited \(SIGKILL\)/);
    const started = await cli(["start", "alertmanager"]);
    expect(started.stdout).toBe("alertmanager running\n");
    expect(started.status).toBe(0);
    expect((await fetch(`${platform.alertmanager.url}/-/ready`)).ok).toBe(true);
    expect(platform.failure()).toBeUndefined();
  });

  it("answers the CLI's status, and its mistakes in one line with a non-zero exit", async () => {
    const status = await cli(["status"]);
    expect(status.status).toBe(0);
    expect(status.stdout.trim().split("\n")).toEqual([
      "postgres-primary  running",
      "postgres-replica  running",
      "redis             running",
      "prometheus        running",
      "alertmanager      running",
    ]);
    const unknown = await cli(["stop", "mysql"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(
      'unknown server "mysql" — usage: npm run platform -- <status|stop|start|pause|unpause> [postgres-primary|postgres-replica|redis|prometheus|alertmanager]\n',
    );
    const elsewhere = await cli(["status"], join(stateDir, "nothing-runs-here"));
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toBe(
      `npm run platform: no local platform is running from ${join(stateDir, "nothing-runs-here")}: start it with npm start\n`,
    );
  });
});
