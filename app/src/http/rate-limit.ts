/**
 * Redis fixed-window rate limits, all of a request's limiters checked in one round trip. Over the
 * limit: 429 with Retry-After. If Redis is unavailable the request goes through (fail open) and is
 * counted in parley_rate_limit_fail_open_total.
 */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { RedisGuard } from "../cache/redis";
import type { Metrics } from "../telemetry/metrics";
import { clientIp } from "./context";
import { HttpError } from "./errors";

export type LimiterName = "ip" | "user" | "login";

export interface Limit {
  limit: number;
  windowSeconds: number;
}

export interface LimiterCheck {
  limiter: LimiterName;
  /** Who is being limited: an IP address or a user id. */
  subject: string;
}

export class RateLimiter {
  constructor(
    private readonly redis: RedisGuard,
    private readonly limits: Record<LimiterName, Limit>,
    private readonly metrics: Metrics,
  ) {}

  /** Throws a 429 HttpError when any check is over its limit. */
  async check(checks: LimiterCheck[], response: Response): Promise<void> {
    const keys = checks.map(({ limiter, subject }) => `rl:${limiter}:${subject}`);
    const windows = checks.map(({ limiter }) => this.limits[limiter].windowSeconds * 1000);
    let replies: number[];
    try {
      replies = await this.redis.run((client) => client.rateLimit(keys.length, ...keys, ...windows));
    } catch {
      for (const { limiter } of checks) this.metrics.rateLimitFailOpen.inc({ limiter });
      return;
    }
    let retryAfterSeconds = 0;
    let remaining = Number.POSITIVE_INFINITY;
    let rejectedBy: LimiterName | undefined;
    checks.forEach(({ limiter }, index) => {
      const count = replies[index * 2]!;
      const ttlMs = replies[index * 2 + 1]!;
      const { limit } = this.limits[limiter];
      remaining = Math.min(remaining, Math.max(0, limit - count));
      if (count > limit) {
        rejectedBy ??= limiter;
        retryAfterSeconds = Math.max(retryAfterSeconds, Math.ceil(ttlMs / 1000));
      }
    });
    response.setHeader("RateLimit-Remaining", String(remaining));
    if (rejectedBy) {
      this.metrics.rateLimited.inc({ limiter: rejectedBy });
      response.setHeader("Retry-After", String(Math.max(1, retryAfterSeconds)));
      throw new HttpError(
        429,
        "rate_limited",
        `too many requests; retry in ${Math.max(1, retryAfterSeconds)} s`,
      );
    }
  }

  /** Middleware checking these limiters: `ip` and `login` count per client IP, `user` per user. */
  middleware(...limiters: LimiterName[]): RequestHandler {
    return async (request: Request, response: Response, next: NextFunction) => {
      const ip = clientIp(request);
      await this.check(
        limiters.map((limiter) => ({ limiter, subject: limiter === "user" ? request.auth!.userId : ip })),
        response,
      );
      next();
    };
  }
}
