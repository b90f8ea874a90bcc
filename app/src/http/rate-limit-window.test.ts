import { describe, expect, it } from "vitest";
import { limitOutcome } from "./rate-limit-window";

describe("rate-limit window arithmetic", () => {
  it("RateLimit-Remaining is the limit minus the requests counted, this one included", () => {
    expect(limitOutcome([{ limiter: "ip", limit: 10, count: 1, ttlMs: 60_000 }])).toEqual({
      remaining: 9,
      rejectedBy: undefined,
      retryAfterSeconds: 1,
    });
    // The last allowed request leaves 0 and is not rejected.
    expect(limitOutcome([{ limiter: "ip", limit: 10, count: 10, ttlMs: 60_000 }])).toMatchObject({
      remaining: 0,
      rejectedBy: undefined,
    });
  });

  it("reports the tightest window and never a negative remainder", () => {
    const outcome = limitOutcome([
      { limiter: "ip", limit: 100, count: 40, ttlMs: 30_000 },
      { limiter: "user", limit: 20, count: 15, ttlMs: 30_000 },
    ]);
    expect(outcome.remaining).toBe(5);
    expect(limitOutcome([{ limiter: "login", limit: 5, count: 9, ttlMs: 1000 }]).remaining).toBe(0);
  });

  it("rejects the request one over the limit, naming the first limiter over it", () => {
    const outcome = limitOutcome([
      { limiter: "ip", limit: 100, count: 10, ttlMs: 5000 },
      { limiter: "login", limit: 5, count: 6, ttlMs: 2500 },
      { limiter: "user", limit: 3, count: 4, ttlMs: 1000 },
    ]);
    expect(outcome).toEqual({ remaining: 0, rejectedBy: "login", retryAfterSeconds: 3 });
  });

  it("Retry-After waits for the last window it is over to reset, in whole seconds, at least 1", () => {
    expect(
      limitOutcome([
        { limiter: "ip", limit: 1, count: 2, ttlMs: 1200 },
        { limiter: "user", limit: 1, count: 2, ttlMs: 7001 },
        // Not over: its longer window does not count.
        { limiter: "login", limit: 10, count: 2, ttlMs: 60_000 },
      ]).retryAfterSeconds,
    ).toBe(8);
    // A window about to expire (or already gone) still says 1, never 0.
    expect(limitOutcome([{ limiter: "ip", limit: 1, count: 2, ttlMs: 0 }]).retryAfterSeconds).toBe(1);
    expect(limitOutcome([{ limiter: "ip", limit: 1, count: 2, ttlMs: -1 }]).retryAfterSeconds).toBe(1);
  });
});
