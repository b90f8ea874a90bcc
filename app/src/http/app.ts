/**
 * The Express application: request context and metrics, probes, the API's security headers, JSON
 * bodies with a size limit, rate limits, auth, the API routes (their JSON answers compressed by
 * sendJsonText, event streams never), and the chat page with a page's security headers and compression.
 */
import compression from "compression";
import express, { type Express, type Response } from "express";
import helmet from "helmet";
import type { Logger } from "pino";
import type { UserStore } from "../data/users";
import type { Database } from "../db/database";
import { analyticsRoutes } from "../routes/analytics";
import { authRoutes } from "../routes/auth";
import { chatbotRoutes } from "../routes/chatbots";
import { conversationRoutes } from "../routes/conversations";
import { operationsRoutePaths, operationsRoutes } from "../routes/operations";
import type { AnalyticsService } from "../services/analytics";
import type { ChatService } from "../services/chat";
import type { ChatbotService } from "../services/chatbots";
import type { ConversationService } from "../services/conversations";
import type { Metrics } from "../telemetry/metrics";
import { apiSecurityHeaders } from "./api-headers";
import { requireAuth } from "./auth";
import { requestContext, requestLoggers } from "./context";
import { errorHandler, HttpError } from "./errors";
import { sendJsonText } from "./json-text";
import type { LoginBackoff, RateLimiter } from "./rate-limit";
import { staticPage, webDirectory } from "./static";

export interface AppDependencies {
  log: Logger;
  metrics: Metrics;
  db: Database;
  limiter: RateLimiter;
  loginBackoff: LoginBackoff;
  /** Express `trust proxy` values: the proxies allowed to name the client. */
  trustedProxies: string[];
  users: UserStore;
  chatbots: ChatbotService;
  conversations: ConversationService;
  chat: ChatService;
  analytics: AnalyticsService;
  jwtSecret: string;
  tokenTtlSeconds: number;
  bodyLimitBytes: number;
  /** True from the moment shutdown starts. */
  draining: () => boolean;
  /** Serve /metrics on this (the API) port; false when it has a port of its own. */
  metricsOnApiPort: boolean;
}

export function createApp(deps: AppDependencies): Express {
  const app = express();
  const unexpectedErrors = errorHandler((error, request) =>
    request.log.error({ err: error }, "unexpected error"),
  );
  // Forwarding headers name the client only when every hop that added them is a configured proxy
  // (the load balancer's network, the CDN's ranges), never merely because a peer is private.
  app.set("trust proxy", deps.trustedProxies);
  app.disable("x-powered-by");
  // No ETag on the API's answers: they are `no-store` (below), so no cache keeps one to revalidate,
  // and Express hashed every body for it. The chat page keeps its own (staticPage).
  app.set("etag", false);
  // Every JSON answer as sendJsonText sends it (app.response is the prototype of this app's
  // responses, Express's place for extending them); there is no ETag or Last-Modified to make res.send's
  // freshness check answer 304, and Node drops the body of a HEAD answer itself.
  app.response.json = function json(this: Response, body: unknown) {
    sendJsonText(this, JSON.stringify(body));
    return this;
  };
  requestLoggers(app, deps.log);
  // A successful probe or scrape is counted, not logged: they come on a timer from every kubelet,
  // load balancer node and Prometheus, and would be most of the log.
  app.use(requestContext(deps.log, deps.metrics, { quietRoutes: operationsRoutePaths }));
  app.use((_request, response, next) => {
    if (deps.draining()) response.setHeader("Connection", "close");
    next();
  });
  // Probes and /metrics answer before security headers: they are the most frequent
  // requests (every kubelet probe, every scrape), small JSON or Prometheus text needing neither.
  // Still after the request context, so they keep their request id, log line and metrics. Routes of
  // the app itself, not a router of their own: every other request would walk that router to its end,
  // which router 2 leaves through a setImmediate (one more event-loop turn per API request).
  operationsRoutes(app, deps);

  // One router mounted at /api, its routes relative to it: an API request takes the /api prefix off
  // once, where a middleware mounted at /api each took it off and put it back (and the URL was parsed
  // again), and a path outside it skips the whole API in one comparison.
  const api = express.Router();
  // API responses are per caller (a token in the request): no shared or browser cache may keep them
  // (the Cloudflare cache rules in infra/components/edge.ts bypass /api/ as well), and they get the
  // API's security headers, not a page's.
  api.use(apiSecurityHeaders);
  // A JSON body is parsed by the routes that take one, after their auth and rate limits: a client that
  // is refused (401, 429) never has up to bodyLimitBytes of JSON parsed, and a GET walks one layer less
  // (no CPU difference measured on a cached read: 62.1 against 61.9 µs, docs/performance.md).
  const routeDeps = { ...deps, jsonBody: express.json({ limit: deps.bodyLimitBytes }) };
  authRoutes(api, routeDeps);
  // Route-level (not router-level) so a 401 or 429 is still labelled with its route template.
  const guard = [requireAuth(deps.jwtSecret, deps.tokenTtlSeconds), deps.limiter.middleware("ip", "user")];
  chatbotRoutes(api, guard, routeDeps);
  conversationRoutes(api, guard, routeDeps);
  analyticsRoutes(api, guard, deps);
  api.use(() => {
    throw new HttpError(404, "not_found", "no such API route");
  });
  // Errors are answered inside the router: leaving it restores req.baseUrl, and the route label
  // (baseUrl + the route's path) would lose its /api.
  api.use(unexpectedErrors);
  app.use("/api", api);

  // Everything that is not the API (the chat page, its assets, the 404 of an unknown path).
  app.use(helmet());
  app.use(compression());
  const webDir = webDirectory();
  if (webDir) app.use(staticPage(webDir));
  app.use((_request, response) => {
    response.locals.routeLabel = "unmatched";
    response.status(404).json({ error: { code: "not_found", message: "not found" } });
  });
  app.use(unexpectedErrors);
  return app;
}
