import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePortList, freePorts, localPorts } from ".";

describe("free ports", () => {
  it("hands out distinct ports in one call, each of which can then be bound", async () => {
    const ports = await freePortList(64);
    expect(new Set(ports).size).toBe(64);
    const server = createServer();
    await new Promise<void>((listening) => server.listen(ports[0], "127.0.0.1", listening));
    await new Promise((closed) => server.close(closed));
  });

  it("gives every platform service its own port", async () => {
    const ports = await freePorts();
    expect(Object.keys(ports).sort()).toEqual(Object.keys(localPorts).sort());
    expect(new Set(Object.values(ports)).size).toBe(Object.keys(localPorts).length);
  });
});
