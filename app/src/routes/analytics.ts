/** GET /api/analytics/dashboard. */
import type { RequestHandler, Router } from "express";
import { parse } from "../http/errors";
import { analyticsQuery } from "../http/schemas";
import type { AnalyticsService } from "../services/analytics";

export function analyticsRoutes(
  router: Router,
  guard: RequestHandler[],
  deps: { analytics: AnalyticsService },
): void {
  router.get("/analytics/dashboard", ...guard, async (request, response) => {
    const { days } = parse(analyticsQuery, request.query, "query");
    response.json(await deps.analytics.dashboard(request.auth!.organizationId, days));
  });
}
