/**
 * One supported Node.js LTS, declared once in .node-version: package.json's engines admit exactly its
 * major, every script that runs TypeScript goes through the bootstrap that brings that version, and
 * the tests themselves run on it. (The Dockerfile is checked in app/dockerfile.test.ts, the workflows
 * in tests/workflows/.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(__dirname, "..");
const declared = readFileSync(join(root, ".node-version"), "utf8").trim();
const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

describe("the Node.js runtime", () => {
  it("is one exact Node.js 24 LTS release", () => {
    // Node.js 20 reached end of life on 2026-04-30; 24 is the active LTS line.
    expect(declared).toMatch(/^24\.\d+\.\d+$/);
  });

  it("is what package.json's engines admit, and no other major", () => {
    expect(packageJson.engines.node).toBe(`>=${declared} <25`);
  });

  it("runs every TypeScript script through the bootstrap", () => {
    for (const [name, script] of Object.entries(packageJson.scripts)) {
      expect(script, name).not.toMatch(/^tsx\b|\bnode --import tsx\b/);
    }
    expect(packageJson.scripts.start).toBe("node scripts/bootstrap.mjs scripts/start.ts");
    expect(packageJson.scripts.test).toBe("node scripts/bootstrap.mjs scripts/test.ts");
  });

  it("runs this test suite (npm test brings it on a machine that has another)", () => {
    expect(process.versions.node).toBe(declared);
  });
});

describe("the bootstrap", () => {
  const bootstrap = (...args: string[]) =>
    spawnSync(process.execPath, ["scripts/bootstrap.mjs", ...args], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, npm_lifecycle_event: "" },
    });

  it("rejects an unknown entry point in one line, with a non-zero exit", () => {
    const result = bootstrap("scripts/no-such-entry.ts");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("bootstrap: no such entry point: scripts/no-such-entry.ts\n");
  });

  it("passes the entry point's arguments and exit code through", () => {
    const result = bootstrap("infra/scaling/cli.ts", "--stack", "nonesuch");
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/nonesuch/);
  });
});

describe("npm's install scripts", () => {
  it("are each decided in package.json's allowScripts, so installs run none and warn about none", () => {
    const result = spawnSync("npm", ["install-scripts", "ls"], { cwd: root, encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe("No packages with unreviewed install scripts.");
  });
});
