/**
 * The control channel of a running `npm start`, for fault drills: `npm run platform -- stop redis`
 * asks the run that owns the servers to stop one (it stays the owner, and Ctrl-C still stops what is
 * left), like `docker compose stop|start|pause|unpause <service>`. HTTP over a Unix socket that only
 * this user can open, named after the state folder.
 */
import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ManagedServer, type Platform, type ServerName, serverNames } from "./index";

export const controlActions = ["status", "stop", "start", "pause", "unpause"] as const;
export type ControlAction = (typeof controlActions)[number];

/** Under the temporary folder: a Unix socket path must stay under 108 bytes, a state folder may not. */
export function controlSocket(stateDir: string): string {
  return join(tmpdir(), `parley-${createHash("sha256").update(stateDir).digest("hex").slice(0, 16)}.sock`);
}

export interface ControlReply {
  ok: boolean;
  message: string;
}

export function describeServers(servers: Record<ServerName, ManagedServer>): string {
  return serverNames.map((name) => `${name.padEnd(17)} ${servers[name].state()}`).join("\n");
}

async function perform(
  platform: Platform,
  action: ControlAction,
  name: string | undefined,
): Promise<ControlReply> {
  if (action === "status") return { ok: true, message: describeServers(platform.servers) };
  if (!name || !(serverNames as readonly string[]).includes(name)) {
    return { ok: false, message: `unknown server "${name ?? ""}": one of ${serverNames.join(", ")}` };
  }
  const server = platform.servers[name as ServerName];
  switch (action) {
    case "stop":
      await server.stop();
      return { ok: true, message: `${name} stopped` };
    case "start":
      await server.start();
      return { ok: true, message: `${name} running` };
    case "pause":
      server.pause();
      return { ok: true, message: `${name} paused (SIGSTOP): it accepts connections and answers nothing` };
    case "unpause":
      server.resume();
      return { ok: true, message: `${name} running` };
  }
}

/** Serves the control channel for `platform` until closed; `log` reports each action taken. */
export async function serveControl(platform: Platform, log: (line: string) => void): Promise<Server> {
  const socket = controlSocket(platform.stateDir);
  rmSync(socket, { force: true });
  const server = createServer(async (req, res) => {
    const [, action, name] = (req.url ?? "").split("/");
    let reply: ControlReply;
    if (req.method !== "POST" || !(controlActions as readonly string[]).includes(action ?? "")) {
      reply = { ok: false, message: `unknown action "${action ?? ""}": one of ${controlActions.join(", ")}` };
    } else {
      try {
        reply = await perform(platform, action as ControlAction, name ? decodeURIComponent(name) : undefined);
      } catch (error) {
        reply = { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
      if (action !== "status")
        log(`  ${reply.ok ? "↻" : "✘"} npm run platform -- ${action} ${name}: ${reply.message}`);
    }
    res.writeHead(reply.ok ? 200 : 400, { "content-type": "application/json" });
    res.end(JSON.stringify(reply));
  });
  await new Promise<void>((listening, failed) => {
    server.once("error", failed);
    server.listen(socket, listening);
  });
  chmodSync(socket, 0o600);
  server.on("close", () => rmSync(socket, { force: true }));
  return server;
}

/** Sends one action to the `npm start` running from `stateDir`. */
export function sendControl(stateDir: string, action: ControlAction, name?: string): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const path = `/${action}${name ? `/${encodeURIComponent(name)}` : ""}`;
    const req = request({ socketPath: controlSocket(stateDir), path, method: "POST" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        body += chunk;
      });
      res.on("end", () => {
        try {
          resolve(JSON.parse(body) as ControlReply);
        } catch {
          reject(new Error(`unreadable answer from npm start: ${body.slice(0, 200)}`));
        }
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT" || error.code === "ECONNREFUSED"
          ? new Error(`no local platform is running from ${stateDir}: start it with npm start`)
          : error,
      ),
    );
    req.end();
  });
}
