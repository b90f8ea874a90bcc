/**
 * Finds the server binaries the local platform runs (the browser its page tests drive, wrk for the bench), installing
 * the Debian/Ubuntu packages that provide them when they are missing and this process may (root, or
 * passwordless sudo).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./command";

export type ServiceName = "postgres" | "redis" | "prometheus" | "alertmanager" | "chromium" | "wrk";

export interface Binaries {
  /** Folder holding initdb, postgres, pg_basebackup. */
  postgresBin: string;
  redisServer: string;
  prometheus: string;
  promtool: string;
  alertmanager: string;
  amtool: string;
  /** Debian's Chromium, driven by the browser tests of the chat page. */
  chromium: string;
  /** Debian's wrk, the load generator of `npm run bench`. */
  wrk: string;
}

const aptPackage: Record<ServiceName, string> = {
  postgres: "postgresql",
  redis: "redis-server",
  prometheus: "prometheus",
  alertmanager: "prometheus-alertmanager",
  chromium: "chromium",
  wrk: "wrk",
};

export class MissingBinariesError extends Error {}

function onPath(command: string): string | undefined {
  const result = spawnSync("/bin/sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  const found = result.stdout?.trim();
  return result.status === 0 && found ? found : undefined;
}

function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((version) => existsSync(join(root, version, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], "bin");
  }
  const initdb = onPath("initdb");
  return initdb ? join(initdb, "..") : undefined;
}

function locate(): Partial<Record<ServiceName, boolean>> & { binaries: Partial<Binaries> } {
  const binaries: Partial<Binaries> = {
    postgresBin: postgresBinDir(),
    redisServer: onPath("redis-server"),
    prometheus: onPath("prometheus"),
    promtool: onPath("promtool"),
    alertmanager: onPath("prometheus-alertmanager") ?? onPath("alertmanager"),
    amtool: onPath("amtool"),
    chromium: onPath("chromium"),
    wrk: onPath("wrk"),
  };
  return {
    binaries,
    postgres: Boolean(binaries.postgresBin && existsSync(join(binaries.postgresBin, "pg_basebackup"))),
    redis: Boolean(binaries.redisServer),
    prometheus: Boolean(binaries.prometheus && binaries.promtool),
    alertmanager: Boolean(binaries.alertmanager && binaries.amtool),
    chromium: Boolean(binaries.chromium),
    wrk: Boolean(binaries.wrk),
  };
}

function canInstallWithApt(): "root" | "sudo" | undefined {
  if (!onPath("apt-get")) return undefined;
  if (process.getuid?.() === 0) return "root";
  if (onPath("sudo") && spawnSync("sudo", ["-n", "true"]).status === 0) return "sudo";
  return undefined;
}

/**
 * Returns the binaries for `services`, installing missing packages with apt where allowed; otherwise
 * throws a MissingBinariesError whose message names the packages to install.
 * With `allowInstall: false` it never runs apt and only reports what is missing.
 */
export function ensureBinaries(
  services: ServiceName[],
  log: (line: string) => void,
  { allowInstall = true }: { allowInstall?: boolean } = {},
): Binaries {
  let found = locate();
  const missing = services.filter((service) => !found[service]);
  if (missing.length > 0) {
    const packages = missing.map((service) => aptPackage[service]);
    const how = allowInstall ? canInstallWithApt() : undefined;
    if (!how) {
      throw new MissingBinariesError(
        `missing server binaries for ${missing.join(", ")}: install them with \`sudo apt-get install ${packages.join(" ")}\` and run again`,
      );
    }
    log(`  … installing ${packages.join(" ")} with apt-get (once per machine)`);
    // One install at a time across processes (test workers, npm start): dpkg allows only one.
    const install = `DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ${packages.join(" ")}`;
    const command = ["flock", join(tmpdir(), "parley-apt.lock"), "sh", "-c", install];
    if (how === "sudo") command.unshift("sudo", "-n");
    runCommand(`installing ${packages.join(" ")}`, command[0]!, command.slice(1));
    found = locate();
    const stillMissing = services.filter((service) => !found[service]);
    if (stillMissing.length > 0) {
      throw new MissingBinariesError(
        `apt-get installed ${packages.join(" ")} but ${stillMissing.join(", ")} is still not found on PATH`,
      );
    }
  }
  return found.binaries as Binaries;
}
