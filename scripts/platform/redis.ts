/** Redis for the local platform and the integration tests. */
import { mkdirSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { adoptOrStart, type ServerProcess } from "./process";
import { waitFor } from "./steps";

export interface RedisServer {
  process: ServerProcess;
  port: number;
  url: string;
}

/** Sends PING over a raw socket: true once the server answers +PONG. */
export function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => socket.write("PING\r\n"));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once("data", (data) => {
      resolve(data.toString().startsWith("+PONG"));
      socket.end();
    });
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

export async function startRedis(options: {
  bin: string;
  stateDir: string;
  port: number;
}): Promise<RedisServer> {
  const name = "redis";
  const dataDir = join(options.stateDir, "redis");
  mkdirSync(dataDir, { recursive: true });
  const running = await adoptOrStart({
    name,
    port: options.port,
    command: options.bin,
    args: [
      "--port",
      String(options.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dataDir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      // Room for one logical database per integration test file.
      "--databases",
      "256",
      "--repl-diskless-sync-delay",
      "0",
    ],
    stateDir: options.stateDir,
  });
  await waitFor(
    `redis to answer PING on port ${options.port}`,
    async () => ((await ping(options.port)) ? true : undefined),
    {
      abort: running.exited,
    },
  );
  return { process: running, port: options.port, url: `redis://127.0.0.1:${options.port}` };
}
