/**
 * /healthz (alive), /readyz (can serve: primary reachable, not shutting down), and /metrics unless it
 * has a port of its own (METRICS_PORT, served by metricsServer).
 */
import { createServer, type Server } from "node:http";
import type { Router } from "express";
import type { Database } from "../db/database";
import type { Metrics } from "../telemetry/metrics";

export function operationsRoutes(
  router: Router,
  deps: { db: Database; metrics: Metrics; draining: () => boolean; metricsOnApiPort: boolean },
): void {
  router.get("/healthz", (_request, response) => {
    response.json({ status: "ok" });
  });

  router.get("/readyz", (_request, response) => {
    // Not ready is an answer, not a failure of this request: logged at info like any other.
    response.locals.expectedFailure = true;
    if (deps.draining()) {
      response.status(503).json({ status: "shutting_down" });
      return;
    }
    const primary = deps.db.primaryReachable;
    response.status(primary ? 200 : 503).json({
      status: primary ? "ready" : "unavailable",
      primary,
      replica_in_use: deps.db.replicaInUse,
      replicas: deps.db.replicaStates(),
    });
  });

  if (!deps.metricsOnApiPort) return;
  router.get("/metrics", async (_request, response) => {
    response.setHeader("Content-Type", deps.metrics.registry.contentType);
    response.send(await deps.metrics.registry.metrics());
  });
}

/** A server answering only GET /metrics: the metrics port, apart from the API. */
export function metricsServer(metrics: Metrics): Server {
  return createServer(async (request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ error: { code: "not_found", message: "only GET /metrics is served here" } }),
      );
      return;
    }
    const body = await metrics.registry.metrics();
    response.writeHead(200, { "content-type": metrics.registry.contentType });
    response.end(body);
  });
}
