/**
 * Fault injection on servers a test started itself (by PID, never by name): freeze a server and every
 * process it forked (PostgreSQL serves each connection from a child of the postmaster), thaw it, and
 * small helpers to wait for a condition with a deadline.
 */
import { execFile } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

/**
 * `pid` and all its descendants, parents first. One asynchronous `ps` for the whole table: these
 * tests run the app in the test's own process, and a synchronous `ps` per process (a PostgreSQL
 * server has dozens, ~300 ms each on a loaded machine) blocked its event loop for seconds, delaying
 * the app's own timeouts.
 */
export async function processTree(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  const { stdout } = await promisify(execFile)("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" });
  for (const line of stdout.split("\n")) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (!child || !parent) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const tree = [pid];
  for (let index = 0; index < tree.length; index++)
    for (const child of children.get(tree[index]!) ?? []) if (!tree.includes(child)) tree.push(child);
  return tree;
}

/** SIGSTOPs the server and its children: it keeps its sockets but answers nothing. Resolves to thaw(). */
export async function freeze(pid: number): Promise<() => Promise<void>> {
  const tree = await processTree(pid);
  for (const member of tree) signal(member, "SIGSTOP");
  return async () => {
    for (const member of tree) signal(member, "SIGCONT");
    // Children forked while frozen (none expected: the postmaster was stopped too).
    for (const member of await processTree(pid)) signal(member, "SIGCONT");
  };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * Polls `check` until it holds, or throws naming `what` after `timeoutMs`. `what` may be a function,
 * for a description that needs what was seen while waiting (a child's output, the last answer).
 */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string | (() => string),
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === "function" ? what() : what}`);
    await sleep(100);
  }
}
