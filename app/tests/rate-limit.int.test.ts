/**
 * The rate limiter against a real Redis: the checks of one event-loop turn share one script call and
 * count exactly as one call each would, in arrival order; the next turn's checks see their counts.
 */
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { createTestRedisUrl } from "../../tests/support/platform";
import { RedisGuard } from "../src/cache/redis";
import { HttpError } from "../src/http/errors";
import { RateLimiter } from "../src/http/rate-limit";
import { createMetrics } from "../src/telemetry/metrics";

let redis: RedisGuard;
const metrics = createMetrics({ version: "t", commit: "t" });

beforeAll(async () => {
  redis = new RedisGuard(await createTestRedisUrl(), metrics, pino({ level: "silent" }));
  expect(await redis.ready(5_000)).toBe(true);
});
afterAll(() => redis?.close());

/** The headers a check sets, as the response would carry them. */
function response() {
  const headers = new Map<string, string>();
  return { headers, setHeader: (name: string, value: string) => headers.set(name, value) };
}

const limiter = () =>
  new RateLimiter(
    redis,
    {
      ip: { limit: 100, windowSeconds: 60 },
      user: { limit: 3, windowSeconds: 60 },
      login: { limit: 1, windowSeconds: 60 },
      register: { limit: 1, windowSeconds: 60 },
    },
    metrics,
  );

it("checks one turn's requests with one script call, counting them in arrival order", async () => {
  const limits = limiter();
  const user = `user-${Date.now()}`;
  const calls = vi.spyOn(redis, "run");
  const outcomes = await Promise.all(
    Array.from({ length: 5 }, async () => {
      const answer = response();
      try {
        await limits.check(
          [
            { limiter: "ip", subject: `ip-${user}` },
            { limiter: "user", subject: user },
          ],
          answer as never,
        );
        return `ok ${answer.headers.get("RateLimit-Remaining")}`;
      } catch (error) {
        return error instanceof HttpError
          ? `${error.status} after ${answer.headers.get("Retry-After")} s`
          : "error";
      }
    }),
  );
  expect(calls).toHaveBeenCalledTimes(1);
  calls.mockRestore();
  expect(outcomes).toEqual(["ok 2", "ok 1", "ok 0", "429 after 60 s", "429 after 60 s"]);
  // A later turn counts on from there.
  await expect(limits.check([{ limiter: "user", subject: user }], response() as never)).rejects.toThrow(
    /too many requests/,
  );
  expect(await redis.client.get(`rl:user:${user}`)).toBe("6");
});
