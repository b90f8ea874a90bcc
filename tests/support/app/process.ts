/**
 * The app run as a real process, as the container runs it, on a port the kernel picks (PORT=0). The
 * port comes from the app's "parley listening" log line: a port probed free beforehand can be taken
 * by another process (a listener or a connection's local port) before the app binds it, and such a
 * start fails or talks to the wrong server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { eventually } from "./faults";

export interface AppProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Its exit code, and when it exited (`performance.now()`). */
  exited: Promise<{ code: number | null; at: number }>;
}

/**
 * Spawns `node <args>` with `env` (PORT set to 0) and resolves once `/readyz` answers 200. A process
 * that exits first, or is not ready within `timeoutMs`, rejects with its output and what `/readyz`
 * last said.
 */
export async function startAppProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<AppProcess> {
  let output = "";
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: { ...env, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  let status = "running";
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => {
      status = `exited (${code ?? signal})`;
      resolve({ code, at: performance.now() });
    }),
  );
  let url: string | undefined;
  let lastReadiness = "not listening yet";
  const listeningPort = () => {
    for (const line of output.split("\n")) {
      if (!line.includes('"parley listening"')) continue;
      return (JSON.parse(line) as { port: number }).port;
    }
    return undefined;
  };
  try {
    await eventually(
      async () => {
        if (status !== "running") throw new Error(`the app ${status} before it was ready:\n${output}`);
        const port = listeningPort();
        if (port === undefined) return false;
        url = `http://127.0.0.1:${port}`;
        const answer = await fetch(`${url}/readyz`).catch((error: Error) => error);
        if (answer instanceof Error) {
          lastReadiness = `${answer.message} (${String((answer.cause as Error | undefined)?.message)})`;
          return false;
        }
        lastReadiness = `${answer.status} ${await answer.text()}`;
        return answer.status === 200;
      },
      () => `the app to become ready (last /readyz: ${lastReadiness}; ${status}):\n${output}`,
      options.timeoutMs ?? 60_000,
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return { child, url: url!, output: () => output, exited };
}
