import { describe, expect, it } from "vitest";
import { combinedRate, type LoadResult } from "./load";

const run = (requests: number, requestsPerSecond: number): LoadResult => ({
  requests,
  errors: 0,
  requestsPerSecond,
  p50Ms: 1,
  p95Ms: 2,
  p99Ms: 3,
});

describe("combinedRate (the baseline measured around a scenario)", () => {
  it("weighs each run by its own duration, not each rate alike", () => {
    // 2 s at 500 req/s and 1 s at 3000 req/s: 4000 requests in 3 s, where the mean of the rates is 1750.
    expect(combinedRate([run(1000, 500), run(3000, 3000)])).toBeCloseTo(4000 / 3, 6);
  });

  it("refuses a baseline that served nothing rather than divide by it", () => {
    expect(() => combinedRate([run(0, 0), run(0, 0)])).toThrow("the baseline served no request");
  });
});
