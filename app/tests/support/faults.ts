/**
 * Fault injection on servers a test started itself (by PID, never by name): freeze a server and every
 * process it forked (PostgreSQL serves each connection from a child of the postmaster), thaw it, and
 * small helpers to wait for a condition with a deadline.
 */
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

/** `pid` and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let index = 0; index < tree.length; index++) {
    let children = "";
    try {
      children = execFileSync("ps", ["-o", "pid=", "--ppid", String(tree[index])], { encoding: "utf8" });
    } catch {
      // no children: ps exits 1
    }
    for (const child of children.split("\n").map((line) => Number(line.trim())))
      if (child > 0 && !tree.includes(child)) tree.push(child);
  }
  return tree;
}

/** SIGSTOPs the server and its children: it keeps its sockets but answers nothing. Returns thaw(). */
export function freeze(pid: number): () => void {
  const tree = processTree(pid);
  for (const member of tree) signal(member, "SIGSTOP");
  return () => {
    for (const member of processTree(pid)) signal(member, "SIGCONT");
    for (const member of tree) signal(member, "SIGCONT");
  };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Polls `check` until it holds, or throws naming `what` after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
