import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Response } from "express";
import { afterEach, describe, expect, it } from "vitest";
import { appServerClasses } from "./server-classes";

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** An app extended as createApp extends its own (res.json replaced, a getter on the request), served. */
async function serve() {
  const app = express();
  app.response.json = function json(this: Response, body: unknown) {
    this.type("application/json").end(`${JSON.stringify({ wrapped: body })}\n`);
    return this;
  };
  Object.defineProperty(app.request, "viaPrototype", { get: () => "found", configurable: true });
  app.get("/echo", (request, response) => {
    response.locals.seen = request.get("x-probe");
    response.status(202).json({
      probe: response.locals.seen,
      sameApp: request.app === app,
      viaPrototype: (request as unknown as { viaPrototype: string }).viaPrototype,
    });
  });
  const server = createServer({ ...appServerClasses(app) }, app);
  const born: { request: unknown; response: unknown }[] = [];
  // Before Express's listener: the prototypes each request and response were created with.
  server.prependListener("request", (request, response) =>
    born.push({ request: Object.getPrototypeOf(request), response: Object.getPrototypeOf(response) }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { app, born, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("the API server's request and response classes", () => {
  it("create every request and response with the app's own prototypes, so Express's per-request swap changes nothing", async () => {
    const { app, born, url } = await serve();
    await fetch(`${url}/echo`);
    await fetch(`${url}/echo`);
    expect(born).toHaveLength(2);
    for (const { request, response } of born) {
      expect(request).toBe(app.request);
      expect(response).toBe(app.response);
    }
  });

  it("keep Express's request and response methods and the app's own extensions of them", async () => {
    const { url } = await serve();
    const answer = await fetch(`${url}/echo`, { headers: { "x-probe": "p-1" } });
    expect(answer.status).toBe(202);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await answer.json()).toEqual({ wrapped: { probe: "p-1", sameApp: true, viaPrototype: "found" } });
  });
});
