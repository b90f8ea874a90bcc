/**
 * Per-request context: a request id (accepted from X-Request-Id when sane, else generated), a child
 * logger made when first used, one structured log line per request but a successful probe (no headers
 * or bodies, so never a password or token), and the HTTP metrics labelled with the route template.
 */
import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { Express, NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import type { Metrics } from "../telemetry/metrics";

declare module "express-serve-static-core" {
  interface Request {
    id: string;
    log: Logger;
    auth?: { userId: string; organizationId: string };
  }
  interface Locals {
    /** A route label for requests no route template matched (static files). */
    routeLabel?: string;
    /** A 5xx that reports a known state (readiness while a dependency is down), not a failure. */
    expectedFailure?: boolean;
  }
}

const requestIdPattern = /^[\w.:-]{1,128}$/;

/**
 * The client's address for rate limits: `req.ip`, Express's walk of X-Forwarded-For from the socket
 * back through the configured proxies (`trust proxy`), stopping at the first address that is not one.
 * CF-Connecting-IP is believed only when that walk found nothing but proxies (the socket and every
 * forwarded hop), i.e. the request reached us through the configured chain alone; a header from any
 * other peer, private or not, is ignored.
 */
export function clientIp(request: Request): string {
  const peer = request.socket.remoteAddress ?? "";
  const cloudflare = request.get("cf-connecting-ip")?.trim();
  // Express's compiled `trust proxy` predicate (the same one req.ip uses).
  const trusted = request.app.get("trust proxy fn") as (address: string, hop: number) => boolean;
  const forwarded = (request.get("x-forwarded-for") ?? "")
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean)
    .reverse();
  const chain = [peer, ...forwarded];
  if (cloudflare && isIP(cloudflare) && chain.every((address, hop) => trusted(address, hop)))
    return cloudflare;
  return request.ip ?? peer;
}

/** The route template (`/api/chatbots/:id`), never the raw path. */
export function routeLabel(request: Request, response: Response): string {
  if (request.route?.path) return `${request.baseUrl}${String(request.route.path)}`;
  return response.locals.routeLabel ?? "unmatched";
}

/**
 * `request.log`, the logger bound to the request id, made when a handler first logs (on the app's
 * request prototype, which Express gives every request it handles): most requests log nothing but
 * their request line, and a child logger per request was about 2% of a probe's CPU in a profile.
 */
export function requestLoggers(app: Express, log: Logger): void {
  Object.defineProperty(app.request, "log", {
    configurable: true,
    get(this: Request) {
      const child = log.child({ req_id: this.id });
      Object.defineProperty(this, "log", { value: child, configurable: true });
      return child;
    },
  });
}

/** The status counted for a request whose client left before any answer was sent (nginx's). */
const clientClosedRequest = 499;

/**
 * `quietRoutes`: route templates whose successful (2xx) answers are counted but not logged: the
 * probes and scrapes every kubelet, load balancer and Prometheus sends on a timer, which would
 * otherwise be most of the log (what pino-http's `autoLogging.ignore` is used for). Their other
 * answers (a 503 from /readyz) are logged like any request's.
 */
export function requestContext(
  log: Logger,
  metrics: Metrics,
  { quietRoutes = [] }: { quietRoutes?: readonly string[] } = {},
): RequestHandler {
  const quiet = new Set(quietRoutes);
  // The request line's fields are fixed and none is a redacted path, so it skips the redaction pass
  // (an empty `redact` list on a child with no bindings: same level, bindings, timestamp and stream).
  const lines = log.child({}, { redact: [] });
  return (request: Request, response: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const incoming = request.get("x-request-id");
    const id = incoming && requestIdPattern.test(incoming) ? incoming : randomUUID();
    request.id = id;
    response.setHeader("X-Request-Id", id);
    response.once("close", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // A client that left before the answer began is counted as nginx's 499 "client closed request",
      // not as the status the answer might have had (200 until a handler sets one): it was neither
      // served nor failed by the server. One that leaves a started answer (a stream) keeps its status.
      // The shutdown's cut of what is left at the end of its grace period is counted so too; those
      // counts end with the process, and the shutdown logs the cut.
      const status = response.headersSent ? response.statusCode : clientClosedRequest;
      const labels = {
        method: request.method,
        route: routeLabel(request, response),
        status_code: String(status),
      };
      metrics.httpRequests.inc(labels);
      // Streamed replies are timed too; they are the only 200s of POST /api/conversations/:id/messages
      // (a plain reply is a 201), which is how the latency SLI leaves them out.
      metrics.httpRequestDuration.observe(labels, seconds);
      if (status < 300 && quiet.has(labels.route)) return;
      // req_id first: the same line, byte for byte, as the child logger's (bindings precede fields).
      const line = {
        req_id: id,
        method: request.method,
        route: labels.route,
        status,
        duration_ms: Math.round(seconds * 1000),
        user_id: request.auth?.userId,
        completed: response.writableFinished,
      };
      if (status >= 500 && !response.locals.expectedFailure) lines.error(line, "request failed");
      else lines.info(line, "request");
    });
    next();
  };
}
