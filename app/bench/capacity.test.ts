import { describe, expect, it } from "vitest";
import {
  type AppCounters,
  appCounters,
  capacityMeasurement,
  capacityStep,
  drained,
  refusedAnswers,
  refusedBetween,
  summarizeCapacity,
} from "./capacity";

const metricsText = `# HELP parley_http_requests_total HTTP requests served.
parley_http_requests_total{method="GET",route="/api/chatbots",status_code="200"} 300
parley_http_requests_total{method="GET",route="/api/chatbots",status_code="429"} 7
parley_http_requests_total{method="POST",route="/api/conversations/:id/messages",status_code="201"} 200
parley_http_requests_total{method="GET",route="/api/analytics/dashboard",status_code="200"} 100
parley_http_requests_total{method="GET",route="/metrics",status_code="200"} 9
parley_cache_requests_total{cache="ai_response",result="hit"} 4
parley_cache_requests_total{cache="ai_response",result="miss"} 196
parley_cache_requests_total{cache="ai_semantic",result="hit"} 1
parley_cache_requests_total{cache="chatbot",result="hit"} 500
`;

const counters = (listChatbots: number, postMessage: number, analytics: number, cachedReplies = 0) => ({
  served: { listChatbots, postMessage, analytics },
  cachedReplies,
});
const load = { requests: 590, errors: 0, requestsPerSecond: 200, p50Ms: 5, p95Ms: 12, p99Ms: 20 };

describe("the capacity measurement", () => {
  it("counts the mixed user's 2xx answers by kind and the replies a cache answered", () => {
    expect(appCounters(metricsText)).toEqual(counters(300, 200, 100, 5));
  });

  it("names the answers outside 2xx that appeared between two readings", () => {
    const before = refusedAnswers(metricsText);
    expect([...before]).toEqual([["429 GET /api/chatbots", 7]]);
    const later = `${metricsText.replace('status_code="429"} 7', 'status_code="429"} 9')}parley_http_requests_total{method="POST",route="/api/conversations/:id/messages",status_code="503"} 4\n`;
    expect(refusedBetween(before, refusedAnswers(later))).toBe(
      "429 GET /api/chatbots × 2, 503 POST /api/conversations/:id/messages × 4",
    );
    expect(refusedBetween(before, before)).toBe("none");
  });

  it("charges the step's CPU to the requests the app served in it, tail included", () => {
    const step = capacityStep(16, load, 600, counters(100, 100, 100), counters(400, 300, 200), 231.4);
    expect(step).toEqual({
      connections: 16,
      requestsPerSecond: 200,
      p95Ms: 12,
      errors: 0,
      cpuMsPerRequest: 1,
      served: { listChatbots: 300, postMessage: 200, analytics: 100 },
      cachedReplies: 0,
      peakRssMiB: 231.4,
    });
  });

  it("waits until the app's counts stop moving", async () => {
    const reads: AppCounters[] = [counters(1, 0, 0), counters(5, 2, 1), counters(9, 4, 2), counters(9, 4, 2)];
    let index = 0;
    const settled = await drained(async () => reads[Math.min(index++, reads.length - 1)]!, 1);
    expect(settled).toEqual(counters(9, 4, 2));
    expect(index).toBe(4);
  });

  it("writes the busiest error-free step's rate, and refuses a run that did not measure the mix", () => {
    const run = { date: "2026-12-01T17:00:00.000Z", commit: "abc", machine: "test" };
    const good = (connections: number, requestsPerSecond: number, cpuMsPerRequest: number) => ({
      ...capacityStep(
        connections,
        { ...load, requestsPerSecond },
        0,
        counters(0, 0, 0),
        counters(300, 200, 100),
        200.04 + requestsPerSecond / 100,
      ),
      cpuMsPerRequest,
    });
    const steps = [good(1, 100, 2), good(64, 900, 1.25), { ...good(32, 950, 0.5), errors: 40 }];
    const measured = capacityMeasurement(run, summarizeCapacity(steps, 200, 4.2));
    expect(measured.requestsPerSecondPerCore).toBe(800);
    expect(measured.withinSloRequestsPerSecond).toBe(900);
    expect(measured.idleCpuMsPerSecond).toBe(4.2);
    // Peak RSS written to 0.1 MiB, and the memory line fitted to what is written.
    expect(measured.steps.map((s) => s.peakRssMiB)).toEqual([201, 209, 209.5]);
    expect(measured.memory).toEqual({ baseMiB: 200, miBPerRequestPerSecond: 0.01 });
    const lockstep = [{ ...good(1, 100, 2), served: { listChatbots: 900, postMessage: 0, analytics: 0 } }];
    expect(() => capacityMeasurement(run, summarizeCapacity(lockstep, 200, 0))).toThrow(
      /^capacity not written: the 1-connection step served 100% listChatbots/,
    );
    const allFailed = steps.map((s) => ({ ...s, errors: 3 }));
    expect(() => capacityMeasurement(run, summarizeCapacity(allFailed, 200, 0))).toThrow(
      /^capacity not written: no error-free step/,
    );
  });
});
