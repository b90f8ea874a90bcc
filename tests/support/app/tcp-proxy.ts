/**
 * A TCP forwarder in front of the app, to lose the connection for real: `cut()` resets every open
 * connection (a reply stream stops mid-way), and while `down` new connections are reset at once.
 */

import type { AddressInfo } from "node:net";
import { createConnection, createServer, type Socket } from "node:net";

export interface TcpProxy {
  url: string;
  down: boolean;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const proxy = {
    down: false,
    cut: () => {
      for (const socket of open) socket.resetAndDestroy();
    },
  };
  const server = createServer((client) => {
    if (proxy.down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(socket);
      socket.on("close", () => {
        open.delete(socket);
        other.destroy();
      });
      socket.on("error", () => other.destroy());
      socket.pipe(other);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${address.port}`,
    close: () => {
      proxy.cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
