/**
 * Runs a short command to completion. A failure becomes a CommandError whose message is one or two
 * lines of text — what failed, the command, and the end of its stderr — never a serialized Buffer.
 */
import { spawnSync } from "node:child_process";

export class CommandError extends Error {}

export interface CommandOptions {
  uid?: number;
  gid?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** The last lines of a process's stderr folded into one line. */
export function stderrSummary(stderr: string, lines = 3): string {
  return stderr
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" | ");
}

/** Runs `command args`, returning its stdout; `what` names the step in the error ("initdb of the primary"). */
export function runCommand(
  what: string,
  command: string,
  args: string[],
  options: CommandOptions = {},
): string {
  const result = spawnSync(command, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    uid: options.uid,
    gid: options.gid,
    cwd: options.cwd,
    env: options.env,
    timeout: options.timeoutMs,
  });
  const shown = [command, ...args].join(" ");
  if (result.error)
    throw new CommandError(`${what} failed: could not run \`${shown}\`: ${result.error.message}`);
  if (result.status !== 0) {
    const how =
      result.status === null ? `was stopped by ${result.signal}` : `exited with code ${result.status}`;
    const stderr = stderrSummary(result.stderr ?? "");
    throw new CommandError(`${what} failed: \`${shown}\` ${how}${stderr ? `\n  ${stderr}` : ""}`);
  }
  return result.stdout;
}
