/** /healthz (alive), /readyz (can serve: primary reachable, not shutting down), /metrics. */
import type { Router } from "express";
import type { Database } from "../db/database";
import type { Metrics } from "../telemetry/metrics";

export function operationsRoutes(
  router: Router,
  deps: { db: Database; metrics: Metrics; draining: () => boolean },
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

  router.get("/metrics", async (_request, response) => {
    response.setHeader("Content-Type", deps.metrics.registry.contentType);
    response.send(await deps.metrics.registry.metrics());
  });
}
