// Runs one of the repository's TypeScript entry points on the Node.js version that `.node-version`
// declares, with nothing installed beforehand but some Node.js and npm:
//   node scripts/bootstrap.mjs <entry.ts> [args…]
// 1. That Node.js comes from the npm registry's `node-<platform>-<arch>` package (the binary the
//    `node` package itself installs), unpacked once into .state/runtime/ — unless it already runs.
// 2. npm dependencies are installed from package-lock.json (`npm ci`, on that Node.js, so no engine
//    warning) when node_modules is missing or older than the lock.
// 3. The entry point runs on that Node.js with tsx, with its bin folder first on PATH so every child
//    (npx, vitest, tsc, the app) runs on it too. Signals are passed on; its exit code is ours.
// Plain JavaScript on purpose: it must run on whatever Node.js the machine has.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const command = process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : "bootstrap";

class BootstrapError extends Error {}

/** Runs a command to completion; a failure becomes one or two readable lines (never a Buffer). */
function run(what, file, args, options = {}) {
  const result = spawnSync(file, args, { cwd: root, encoding: "utf8", ...options });
  if (result.error)
    throw new BootstrapError(`${what} failed: could not run ${file}: ${result.error.message}`);
  if (result.status !== 0) {
    // npm frames its message with boilerplate lines; keep the ones that say what went wrong.
    const boilerplate = /^npm error( code \w+| Run "npm help| A complete log|\s*$)/;
    const stderr = (result.stderr ?? "")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line && !boilerplate.test(line))
      .slice(0, 2)
      .join(" | ");
    throw new BootstrapError(
      `${what} failed: \`${[file, ...args].join(" ")}\` exited with ${result.status ?? result.signal}` +
        (stderr ? `\n  ${stderr}` : ""),
    );
  }
  return result.stdout ?? "";
}

function declaredNodeVersion() {
  const file = join(root, ".node-version");
  const version = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new BootstrapError(
      `.node-version must hold one exact Node.js version such as 24.22.3, not "${version}"`,
    );
  }
  return version;
}

/** The path of a `node` binary of `version`: this one, or one unpacked from the npm registry. */
function nodeBinary(version) {
  if (process.versions.node === version) return process.execPath;
  const name = `node-${process.platform}-${process.arch}`;
  const home = join(root, ".state", "runtime", `${name}-${version}`);
  const binary = join(home, "bin", "node");
  if (existsSync(binary)) return binary;
  console.log(`Installing Node.js ${version} (npm package ${name}) into .state/runtime/…`);
  mkdirSync(dirname(home), { recursive: true });
  const scratch = mkdtempSync(join(dirname(home), ".download-"));
  try {
    const tarball = run(
      `downloading Node.js ${version}`,
      "npm",
      ["pack", "--silent", "--pack-destination", scratch, `${name}@${version}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    )
      .trim()
      .split("\n")
      .at(-1);
    run(`unpacking Node.js ${version}`, "tar", ["-xzf", join(scratch, tarball), "-C", scratch]);
    // Another run may have unpacked it meanwhile; either copy is complete.
    if (!existsSync(binary)) renameSync(join(scratch, "package"), home);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  run(`checking Node.js ${version}`, binary, ["--version"]);
  return binary;
}

function installDependencies(env) {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  console.log("Installing npm dependencies from package-lock.json (npm ci)…");
  const output = run(
    "installing npm dependencies",
    "npm",
    ["ci", "--ignore-scripts", "--no-audit", "--no-fund"],
    {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  console.log(output.trim().split("\n").at(-1));
}

function main() {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) throw new BootstrapError("usage: node scripts/bootstrap.mjs <entry.ts> [args…]");
  if (!existsSync(join(root, entry))) throw new BootstrapError(`no such entry point: ${entry}`);
  const node = nodeBinary(declaredNodeVersion());
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ""}` };
  installDependencies(env);
  const child = spawn(node, ["--import", "tsx", entry, ...args], { cwd: root, env, stdio: "inherit" });
  // Ctrl-C reaches the child through the terminal's process group; a signal sent to this process
  // alone (a supervisor, a test) is passed on. The entry points stop idempotently.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => {
    console.error(`${command}: could not start ${node}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? 128 + (signal === "SIGINT" ? 2 : 15)));
}

try {
  main();
} catch (error) {
  console.error(`${command}: ${error instanceof BootstrapError ? error.message : String(error)}`);
  process.exit(1);
}
