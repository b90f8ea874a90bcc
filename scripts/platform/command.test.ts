import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CommandError, runCommand } from "./command";
import { startPostgresPrimary } from "./postgres";

/** One or two lines of plain text: no stack, no serialized object or byte array. */
function expectReadable(message: string): void {
  expect(message.split("\n").length).toBeLessThanOrEqual(2);
  expect(message).not.toMatch(/Buffer|<[0-9a-f]{2} |\bat \S+ \(|\{\s*"|\[object/);
}

describe("runCommand", () => {
  it("returns what the command printed", () => {
    expect(runCommand("echoing", "sh", ["-c", "echo hello"])).toBe("hello\n");
  });

  it("reports a failing command as what failed, the command and the end of its stderr", () => {
    const attempt = () =>
      runCommand("making tea", "sh", ["-c", "echo noise >&2; echo 'kettle: no water' >&2; exit 3"]);
    expect(attempt).toThrow(CommandError);
    expect(attempt).toThrow(
      "making tea failed: `sh -c echo noise >&2; echo 'kettle: no water' >&2; exit 3` exited with code 3\n  noise | kettle: no water",
    );
  });

  it("reports a command that cannot run in one line", () => {
    const attempt = () => runCommand("brewing", "/nonexistent/brew", ["--now"]);
    expect(attempt).toThrow(/^brewing failed: could not run `\/nonexistent\/brew --now`: .*ENOENT/);
    try {
      attempt();
    } catch (error) {
      expectReadable((error as Error).message);
    }
  });
});

describe("a failing platform step", () => {
  const folders: string[] = [];
  afterAll(() => {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it("says which step failed, with the command and its stderr as text", async () => {
    const bin = mkdtempSync(join(tmpdir(), "parley-fake-pg-"));
    const stateDir = mkdtempSync(join(tmpdir(), "parley-state-"));
    folders.push(bin, stateDir);
    // As root the step runs as `postgres`, which must be able to enter both folders.
    chmodSync(bin, 0o755);
    chmodSync(stateDir, 0o755);
    writeFileSync(
      join(bin, "initdb"),
      "#!/bin/sh\necho 'initdb: error: deliberately failing' >&2\nexit 1\n",
      {
        mode: 0o755,
      },
    );
    const failure = await startPostgresPrimary({ bin, stateDir, port: 1, ephemeral: true }).then(
      () => undefined,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(
      /^initializing the PostgreSQL primary failed: `\S+\/initdb -D \S+\/pg-primary .*` exited with code 1\n {2}initdb: error: deliberately failing$/,
    );
    expectReadable(failure ?? "");
  });
});
