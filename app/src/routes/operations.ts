/**
 * /healthz (alive), /readyz (can serve: not shutting down, and the primary or a replica reachable),
 * and /metrics unless it has a port of its own (METRICS_PORT, served by metricsServer).
 */
import { createServer, type Server } from "node:http";
import type { IRouter } from "express";
import type { Database } from "../db/database";
import type { Metrics } from "../telemetry/metrics";

const paths = { healthz: "/healthz", readyz: "/readyz", metrics: "/metrics" } as const;

/** Every route operationsRoutes may serve: asked for on a timer by probes and scrapers. */
export const operationsRoutePaths = Object.values(paths);

export function operationsRoutes(
  router: IRouter,
  deps: { db: Database; metrics: Metrics; draining: () => boolean; metricsOnApiPort: boolean },
): void {
  router.get(paths.healthz, (_request, response) => {
    response.json({ status: "ok" });
  });

  router.get(paths.readyz, (_request, response) => {
    // Not ready is an answer, not a failure of this request: logged at info like any other.
    response.locals.expectedFailure = true;
    if (deps.draining()) {
      response.status(503).json({ status: "shutting_down" });
      return;
    }
    // Ready while it can serve reads: with the primary down but a replica answering, writes get 503
    // + Retry-After and reads are served. Not ready would take every pod out of the load balancer
    // at once (the AWS Load Balancer Controller deregisters unready pods; an ALB with no registered
    // targets answers 503 to everything), so a primary outage would stop reads too. See
    // docs/reliability.md, "Readiness while the primary is down".
    const primary = deps.db.primaryReachable;
    const replicaServing = deps.db.replicaInUse;
    const ready = primary || replicaServing;
    response.status(ready ? 200 : 503).json({
      status: primary ? "ready" : ready ? "degraded" : "unavailable",
      primary,
      replica_in_use: deps.db.replicaInUse,
      replicas: deps.db.replicaStates(),
    });
  });

  if (!deps.metricsOnApiPort) return;
  router.get(paths.metrics, async (_request, response) => {
    response.setHeader("Content-Type", deps.metrics.registry.contentType);
    response.send(await deps.metrics.registry.metrics());
  });
}

/** A server answering only GET /metrics: the metrics port, apart from the API. */
export function metricsServer(metrics: Metrics): Server {
  return createServer(async (request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== paths.metrics) {
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
