/**
 * Redis fixed-window rate limits, all of a request's limiters checked in one round trip, shared with
 * every request checked in the same event-loop turn (one script call for the turn). Over the
 * limit: 429 with Retry-After. If Redis is unavailable the request goes through (fail open) and is
 * counted in parley_rate_limit_fail_open_total.
 */
import { createHash } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { perTurnLoader } from "../cache/per-turn-loader";
import type { RedisGuard } from "../cache/redis";
import type { AppConfig } from "../config";
import type { Metrics } from "../telemetry/metrics";
import { clientIp } from "./context";
import { HttpError } from "./errors";
import { type LimiterName, limitOutcome } from "./rate-limit-window";

export interface Limit {
  limit: number;
  windowSeconds: number;
}

export interface LimiterCheck {
  limiter: LimiterName;
  /** Who is being limited: an IP address or a user id. */
  subject: string;
}

/** One request's counters: their keys and windows (ms). */
interface Counters {
  keys: string[];
  windowsMs: number[];
}

/** Requests' counters per script call: bounds the time one call holds Redis. */
const maxRequestsPerCall = 500;

export class RateLimiter {
  /**
   * The counters of one turn's requests incremented by one script call, in arrival order (the script
   * runs them one after another, as separate calls would): 4.5 → 1.7 µs of client CPU per request,
   * and one script run in Redis per turn (docs/performance.md).
   */
  private readonly counters = perTurnLoader<Counters, number[]>(async (requests) => {
    const keys = requests.flatMap((request) => request.keys);
    const windows = requests.flatMap((request) => request.windowsMs);
    const replies = await this.redis.run((client) => client.rateLimit(keys.length, ...keys, ...windows));
    let offset = 0;
    return requests.map((request) => {
      const own = replies.slice(offset, offset + request.keys.length * 2);
      offset += request.keys.length * 2;
      return own;
    });
  }, maxRequestsPerCall);

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
      replies = await this.counters.load({ keys, windowsMs: windows });
    } catch {
      for (const { limiter } of checks) this.metrics.rateLimitFailOpen.inc({ limiter });
      return;
    }
    const { remaining, retryAfterSeconds, rejectedBy } = limitOutcome(
      checks.map(({ limiter }, index) => ({
        limiter,
        limit: this.limits[limiter].limit,
        count: replies[index * 2]!,
        ttlMs: replies[index * 2 + 1]!,
      })),
    );
    response.setHeader("RateLimit-Remaining", String(remaining));
    if (rejectedBy) {
      this.metrics.rateLimited.inc({ limiter: rejectedBy });
      response.setHeader("Retry-After", String(retryAfterSeconds));
      throw new HttpError(429, "rate_limited", `too many requests; retry in ${retryAfterSeconds} s`);
    }
  }

  /** Middleware checking these limiters: `user` counts per user, the others per client IP. */
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

/**
 * Failed logins counted per account, whatever address they come from (rotating addresses or
 * forwarded headers gains nothing): after a few free failures each attempt must wait a delay that
 * doubles per failure, and is refused (429 + Retry-After) without checking the password until then.
 * A success clears the count. Backoff rather than a lockout, so an attacker cannot lock an owner out
 * for long. Fails open, like the other limits, when Redis is unavailable.
 */
export class LoginBackoff {
  constructor(
    private readonly redis: RedisGuard,
    private readonly policy: AppConfig["loginBackoff"],
    private readonly metrics: Metrics,
  ) {}

  /** Throws a 429 while this account must wait. */
  async check(email: string): Promise<void> {
    let state: Array<string | null>;
    try {
      state = await this.redis.run((client) => client.hmget(this.key(email), "failures", "last"));
    } catch {
      this.metrics.rateLimitFailOpen.inc({ limiter: "account" });
      return;
    }
    const waitMs = this.waitMs(Number(state[0] ?? 0), Number(state[1] ?? 0), Date.now());
    if (waitMs <= 0) return;
    this.metrics.rateLimited.inc({ limiter: "account" });
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new HttpError(
      429,
      "rate_limited",
      `too many failed logins for this account; retry in ${seconds} s`,
      {
        retryAfterSeconds: seconds,
      },
    );
  }

  /** How long an account with `failures` failures, the last at `lastMs`, must still wait at `nowMs`. */
  waitMs(failures: number, lastMs: number, nowMs: number): number {
    const { freeFailures, baseDelaySeconds, maxDelaySeconds } = this.policy;
    if (failures < freeFailures) return 0;
    const delaySeconds = Math.min(maxDelaySeconds, baseDelaySeconds * 2 ** (failures - freeFailures));
    return lastMs + delaySeconds * 1000 - nowMs;
  }

  async failed(email: string): Promise<void> {
    const key = this.key(email);
    await this.redis
      .run((client) =>
        client
          .multi()
          .hincrby(key, "failures", 1)
          .hset(key, "last", Date.now())
          .expire(key, this.policy.windowSeconds)
          .exec(),
      )
      .catch(() => undefined);
  }

  async succeeded(email: string): Promise<void> {
    await this.redis.run((client) => client.del(this.key(email))).catch(() => undefined);
  }

  /** Hashed so Redis never holds the addresses people typed. */
  private key(email: string): string {
    return `login:failures:${createHash("sha256").update(email.trim().toLowerCase()).digest("base64url")}`;
  }
}
