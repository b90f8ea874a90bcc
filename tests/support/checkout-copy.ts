/**
 * A copy of this checkout — the committed tree plus the working tree's changes, committed in the
 * copy so `git status` there starts clean — in a new 0700 folder, as a clone under /root would be.
 * It shares this checkout's node_modules through a symlink (ignored by git).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const repositoryRoot = resolve(__dirname, "../..");

const git = (cwd: string, args: string[]) =>
  execFileSync("git", ["-c", "user.name=parley-test", "-c", "user.email=test@parley.invalid", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

export interface CheckoutCopy {
  /** The 0700 folder holding the copy. */
  home: string;
  root: string;
  gitStatus(): string;
}

export function copyCheckout(): CheckoutCopy {
  const home = mkdtempSync(join(tmpdir(), "parley-private-"));
  const root = join(home, "parley");
  git(home, ["clone", "--quiet", "--no-hardlinks", repositoryRoot, root]);
  const changed = git(repositoryRoot, ["ls-files", "-z", "--modified", "--others", "--exclude-standard"])
    .split("\0")
    .filter(Boolean);
  for (const file of changed) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    copyFileSync(join(repositoryRoot, file), join(root, file));
  }
  git(root, ["add", "-A"]);
  git(root, ["commit", "--quiet", "--allow-empty", "-m", "working tree snapshot"]);
  symlinkSync(join(repositoryRoot, "node_modules"), join(root, "node_modules"));
  // Installed is not older than the lock, so `npm start` here does not reinstall through the symlink:
  // an `npm ci` there empties this checkout's node_modules under the running suite.
  const installed = statSync(join(repositoryRoot, "node_modules", ".package-lock.json")).mtimeMs;
  const lockTime = lockTimeBefore(installed);
  utimesSync(join(root, "package-lock.json"), lockTime, lockTime);
  return { home, root, gitStatus: () => git(root, ["status", "--porcelain"]) };
}

/**
 * A package-lock.json time that bootstrap.mjs reads as not newer than an install at `installedMs`
 * (its marker's mtimeMs, with a fraction of a millisecond). The marker's `statSync().mtime` (what the copy
 * was given before) is rounded to whole milliseconds and lands after the install about half the time,
 * and bootstrap then reinstalled; a second earlier cannot.
 */
export function lockTimeBefore(installedMs: number): Date {
  return new Date(Math.floor(installedMs) - 1000);
}
