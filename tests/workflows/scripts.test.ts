import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { temporaryDirectory } from "../support/temporary-directory";
import { infraPaths } from "./contracts";

const run = promisify(execFile);
const script = (name: string) => resolve(".github/scripts", name);

async function sh(file: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const outputs = join(cwd, ".outputs");
  writeFileSync(outputs, "");
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd,
      env: { ...process.env, GITHUB_OUTPUT: outputs, GITHUB_STEP_SUMMARY: join(cwd, ".summary"), ...env },
    });
    return { code: 0, stdout, stderr, outputs: readFileSync(outputs, "utf8") };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return {
      code: failed.code,
      stdout: failed.stdout,
      stderr: failed.stderr,
      outputs: readFileSync(outputs, "utf8"),
    };
  }
}

const git = (cwd: string, ...args: string[]) =>
  run("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd });

const stackFile = (tag: string, digest: string, cidr = "203.0.113.0/24") =>
  `config:\n  parley:clusterApiAllowedCidrs:\n    - ${cidr}\n  parley:imageTag: ${tag}\n  parley:imageDigest: ${digest}\n`;
const digestOf = (hex: string) => `sha256:${hex.repeat(64 / hex.length)}`;

/** A repository whose main has one commit; `change` makes a branch commit on top of it. */
async function repoWith(change: Record<string, string>) {
  const dir = temporaryDirectory("parley-changes-");
  await git(dir, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(dir, "Pulumi.prod.yaml"), stackFile("sha-a", digestOf("a")));
  writeFileSync(join(dir, "Pulumi.dev.yaml"), stackFile("sha-a", digestOf("a")));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "server.ts"), "export {};\n");
  await git(dir, "add", ".");
  await git(dir, "commit", "--quiet", "-m", "main");
  await git(dir, "switch", "--quiet", "--create", "feature");
  for (const [path, text] of Object.entries(change)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  await git(dir, "add", ".");
  await git(dir, "commit", "--quiet", "--allow-empty", "-m", "change");
  return dir;
}

describe("changes.sh (what a PR touches, so required checks run and skip step by step)", () => {
  it("calls an image-only change image-only, and an app change neither infra nor image-only", {
    timeout: 60_000,
  }, async () => {
    const image = await repoWith({
      "Pulumi.prod.yaml": stackFile("sha-b", digestOf("b")),
      "Pulumi.dev.yaml": stackFile("sha-b", digestOf("b")),
    });
    const imageRun = await sh(script("changes.sh"), ["main"], image);
    expect(imageRun.code).toBe(0);
    expect(imageRun.outputs).toMatch(/^base-sha=[0-9a-f]{40}\ninfra=true\nimage-only=true\n$/);

    const app = await repoWith({ "app/server.ts": "export const x = 1;\n" });
    expect((await sh(script("changes.sh"), ["main"], app)).outputs).toMatch(
      /infra=false\nimage-only=false\n$/,
    );
  });

  it("is not fooled by a stack-config change beside the image lines", { timeout: 60_000 }, async () => {
    const dir = await repoWith({ "Pulumi.prod.yaml": stackFile("sha-b", digestOf("b"), "0.0.0.0/0") });
    expect((await sh(script("changes.sh"), ["main"], dir)).outputs).toMatch(
      /infra=true\nimage-only=false\n$/,
    );
  });

  it.each(infraPaths.map((path) => path.replace("**", "x.ts").replace("*", "prod")))(
    "runs the previews for a change to %s",
    { timeout: 60_000 },
    async (path) => {
      const dir = await repoWith({ [path]: "changed: true\n" });
      expect((await sh(script("changes.sh"), ["main"], dir)).outputs).toMatch(/\ninfra=true\n/);
    },
  );
});

describe("rollback-target.sh (the image to go back to, from main's history)", () => {
  async function history(...pairs: Array<[string, string]>) {
    const dir = temporaryDirectory("parley-rollback-");
    await git(dir, "init", "--quiet", "--initial-branch=main");
    for (const [tag, digest] of pairs) {
      writeFileSync(join(dir, "Pulumi.prod.yaml"), stackFile(tag, digest));
      await git(dir, "add", ".");
      await git(dir, "commit", "--quiet", "-m", tag);
    }
    return dir;
  }

  it("picks the image prod ran before the current one, or the one released under a tag", {
    timeout: 60_000,
  }, async () => {
    const dir = await history(["sha-a", digestOf("a")], ["sha-b", digestOf("b")], ["sha-c", digestOf("c")]);
    expect((await sh(script("rollback-target.sh"), [""], dir)).outputs).toBe(
      `tag=sha-b\ndigest=${digestOf("b")}\n`,
    );
    expect((await sh(script("rollback-target.sh"), ["sha-a"], dir)).outputs).toBe(
      `tag=sha-a\ndigest=${digestOf("a")}\n`,
    );
  });

  it("fails with one readable line when there is nothing to go back to", { timeout: 60_000 }, async () => {
    const dir = await history(["sha-a", digestOf("a")]);
    const result = await sh(script("rollback-target.sh"), ["sha-zzz"], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `rollback-target: no earlier released image tagged sha-zzz in the history of Pulumi.prod.yaml (current: sha-a ${digestOf("a")})\n`,
    );
  });
});

describe("drift-check.sh (drift told from failure by the Pulumi CLI's exit code)", () => {
  // A stand-in for the CLI (none can run here) that exits as told: 0, 7 (--expect-no-changes saw
  // changes; pulumi.com/docs/iac/cli/exit-codes) or another failure such as 3 (not authorized).
  it.each([
    [0, "clean"],
    [7, "drift"],
    [3, "error"],
    [5, "error"],
  ])("exit code %i is %s", { timeout: 60_000 }, async (exitCode, status) => {
    const dir = temporaryDirectory("parley-drift-");
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "pulumi"), `#!/bin/sh\necho "pulumi $*"\nexit ${exitCode}\n`);
    chmodSync(join(dir, "bin", "pulumi"), 0o755);
    const result = await sh(script("drift-check.sh"), ["prod", "out"], dir, {
      PATH: `${join(dir, "bin")}:${process.env.PATH}`,
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_REPOSITORY: "o/r",
      GITHUB_RUN_ID: "1",
      GITHUB_SHA: "abc",
    });
    expect(result.code).toBe(exitCode);
    expect(readFileSync(join(dir, "out", "status"), "utf8")).toBe(`${status}\n`);
    expect(readFileSync(join(dir, "out", "preview.log"), "utf8")).toMatch(
      /^pulumi preview --stack prod --refresh --expect-no-changes --diff --policy-pack policies --policy-pack-config policies\/config\/prod\.json/,
    );
  });
});
