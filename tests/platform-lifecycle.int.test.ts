import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { scrapeJob } from "../contracts/metrics";
import { externalDataOf, freePorts, removeStateDir, startPlatform } from "../scripts/platform";
import { isAlive } from "../scripts/platform/process";
import { queryPrometheus } from "../scripts/platform/prometheus";
import { copyCheckout } from "./support/checkout-copy";

const serverNames = ["postgres-primary", "postgres-replica", "redis", "prometheus", "alertmanager"];
const pidsIn = (stateDir: string) =>
  serverNames.map((name) => Number(readFileSync(join(stateDir, `${name}.pid`), "utf8").trim()));

describe("local platform lifecycle", () => {
  const stateDirs: string[] = [];
  const newStateDir = () => {
    const dir = mkdtempSync(join(process.cwd(), ".state", "lifecycle-"));
    stateDirs.push(dir);
    return dir;
  };
  const checkouts: string[] = [];
  const started: ChildProcess[] = [];
  afterAll(async () => {
    // A test that failed midway leaves its `npm start` running: Ctrl-C it as a terminal would.
    for (const child of started.filter((c) => c.exitCode === null && c.signalCode === null)) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      process.kill(-(child.pid as number), "SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 60_000))]);
    }
    for (const dir of stateDirs) removeStateDir(dir);
    for (const dir of checkouts) rmSync(dir, { recursive: true, force: true });
  });

  it("adopts servers already running in its state folder and stops only the ones it started", async () => {
    const stateDir = newStateDir();
    const options = {
      stateDir,
      ports: await freePorts(),
      ephemeral: true,
      scrapeIntervalSeconds: 1,
      log: () => {},
    };
    const first = await startPlatform(options);
    const second = await startPlatform(options);
    try {
      expect(second.redis.process.pid).toBe(first.redis.process.pid);
      expect(second.postgresPrimary.process.owned).toBe(false);
      await second.stop();
      expect(pidsIn(stateDir).every(isAlive)).toBe(true);
    } finally {
      await first.stop();
    }
    expect(
      [first.postgresPrimary, first.postgresReplica, first.redis, first.prometheus, first.alertmanager].some(
        (s) => isAlive(s.process.pid),
      ),
    ).toBe(false);
  });

  it("reports a port taken by another program instead of starting a server that cannot bind", async () => {
    const stateDir = newStateDir();
    const ports = await freePorts();
    const squatter = await startPlatform({ stateDir: newStateDir(), ports, ephemeral: true, log: () => {} });
    try {
      await expect(startPlatform({ stateDir, ports, ephemeral: true, log: () => {} })).rejects.toThrow(
        /port \d+ for \S+ is already in use by another program/,
      );
    } finally {
      await squatter.stop();
    }
  });

  it("npm start, from a checkout in a 0700 folder, serves the migrated, seeded app and stops everything it started on Ctrl-C, leaving git status clean", {
    timeout: 300_000,
  }, async () => {
    const checkout = copyCheckout();
    checkouts.push(checkout.home);
    expect(statSync(checkout.home).mode & 0o777).toBe(0o700);
    const stateDir = join(checkout.root, ".state", "local");
    stateDirs.push(stateDir);
    // Run as a user would from a terminal: none of the npm settings of the npm running these tests,
    // and a process group of its own, which Ctrl-C signals as a whole.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    const child = spawn("npm", ["start"], {
      cwd: checkout.root,
      env: { ...env, PARLEY_FREE_PORTS: "1", npm_config_update_notifier: "false" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    started.push(child);
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        exitCode = code;
        resolve(code);
      }),
    );
    await expect
      .poll(() => (exitCode === undefined ? output : `exited early (${exitCode}): ${output}`), {
        timeout: 240_000,
        interval: 250,
      })
      .toMatch(/press Ctrl-C to stop/);
    // The copy shares this checkout's node_modules: a reinstall there would empty them under the suite.
    expect(output).not.toContain("Installing npm dependencies");
    expect(output).toMatch(/PostgreSQL replica\s+postgres:\/\/postgres@127\.0\.0\.1:\d+/);
    expect(output).toMatch(/Demo login: \S+@\S+ \/ \S+/);
    // As root, PostgreSQL runs as `postgres`, which cannot enter the 0700 folder: its data lives in
    // that user's home, linked from the state folder.
    const external = externalDataOf(stateDir);
    if (process.getuid?.() === 0) expect(external).toMatch(/\/parley\/[0-9a-f]{16}$/);
    const appUrl = /App\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    expect((await fetch(`${appUrl}/readyz`)).status).toBe(200);
    // The app bound a port of its own choosing; Prometheus must have been told which.
    const prometheusUrl = /Prometheus\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? "";
    await expect
      .poll(async () => (await queryPrometheus(prometheusUrl, `up{job="${scrapeJob}"}`))[0]?.value[1], {
        timeout: 30_000,
        interval: 500,
      })
      .toBe("1");
    // A server that dies is reported; the rest keeps running, and the drill command brings it back.
    process.kill(pidsIn(stateDir)[2] as number, "SIGKILL");
    await expect
      .poll(() => output, { timeout: 30_000, interval: 250 })
      .toContain("`npm run platform -- start redis` starts it again");
    expect((await fetch(`${appUrl}/readyz`)).status).toBe(200);
    const restarted = await new Promise<string>((resolve, reject) =>
      execFile(
        "npm",
        ["run", "--silent", "platform", "--", "start", "redis"],
        { cwd: checkout.root, env },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    expect(restarted).toContain("redis running");
    const pids = pidsIn(stateDir);
    expect(pids.every(isAlive)).toBe(true);
    // Ctrl-C: SIGINT to the foreground process group (npm, its shell, the bootstrap, the platform).
    process.kill(-(child.pid as number), "SIGINT");
    await expect.poll(() => output, { timeout: 60_000, interval: 250 }).toContain("Stopped.");
    expect(await exited).not.toBe(0);
    expect(pids.some(isAlive)).toBe(false);
    await expect(fetch(`${appUrl}/healthz`)).rejects.toThrow();
    expect(serverNames.some((name) => existsSync(join(stateDir, `${name}.pid`)))).toBe(false);
    expect(checkout.gitStatus()).toBe("");
    removeStateDir(stateDir);
    if (external) expect(existsSync(external)).toBe(false);
  });
});
