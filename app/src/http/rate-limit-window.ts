/** The arithmetic of the fixed-window rate limits: what the counts Redis returns allow. */

export type LimiterName = "ip" | "user" | "login" | "register";

/** One limiter's window as Redis reports it: requests counted so far (this one included) and its TTL. */
export interface WindowCount {
  limiter: LimiterName;
  limit: number;
  count: number;
  ttlMs: number;
}

/**
 * What a request's windows allow: the requests left in the tightest window (RateLimit-Remaining,
 * never negative), the first limiter it is over, and the whole seconds until every window it is
 * over has reset (Retry-After, at least 1).
 */
export function limitOutcome(windows: WindowCount[]): {
  remaining: number;
  rejectedBy: LimiterName | undefined;
  retryAfterSeconds: number;
} {
  let remaining = Number.POSITIVE_INFINITY;
  let rejectedBy: LimiterName | undefined;
  let retryAfterSeconds = 1;
  for (const { limiter, limit, count, ttlMs } of windows) {
    remaining = Math.min(remaining, Math.max(0, limit - count));
    if (count > limit) {
      rejectedBy ??= limiter;
      retryAfterSeconds = Math.max(retryAfterSeconds, Math.ceil(ttlMs / 1000));
    }
  }
  return { remaining, rejectedBy, retryAfterSeconds };
}
