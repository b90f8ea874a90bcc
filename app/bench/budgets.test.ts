import { describe, expect, it } from "vitest";
import { budgetsSchema, checkBudgets, loadBudgets } from "./budgets";
import { type BenchReport, type ScenarioKey, type ScenarioResult, scenarioKeys } from "./report";

const budgets = loadBudgets();

function scenario(key: ScenarioKey, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    key,
    name: key,
    connections: key === "sse" ? 1000 : 50,
    requests: key === "sse" ? 1000 : 10_000,
    errors: 0,
    requestsPerSecond: 1000,
    ratio: 1,
    baselineRequestsPerSecond: null,
    p50Ms: 2,
    p95Ms: key === "sse" ? 1050 : 10,
    p99Ms: 15,
    peakAppRssMB: 120,
    serverCpuMsPerRequest: null,
    cacheHitRatio: null,
    ...overrides,
  };
}

function report(
  overrides: Partial<BenchReport> = {},
  scenarios: Partial<Record<ScenarioKey, Partial<ScenarioResult>>> = {},
): BenchReport {
  // Every scenario but the bare `http` server, which is context, not budgeted.
  const keys = scenarioKeys.filter((key) => key !== "bareHttp");
  return {
    date: "2026-12-01T00:00:00.000Z",
    commit: "abc",
    machine: "test",
    durationMs: 5000,
    scenarios: keys.map((key) => scenario(key, scenarios[key])),
    peakAppRssMB: 150,
    knowledgeCpuMsPerMessage: 0.5,
    knowledgeBaseBytes: 62_000,
    cursorRedisMB: 1,
    cursorCount: 500,
    hotQueryP95Ms: { "messages page": 2.5, "conversation list": 1.2 },
    ...overrides,
  };
}

describe("checkBudgets", () => {
  it("passes a run within every budget", () => {
    expect(checkBudgets(report(), budgets)).toEqual([]);
  });

  it("names each figure over its budget with the figure and the budget, one line each", () => {
    const failures = checkBudgets(
      report(
        {
          peakAppRssMB: 300,
          knowledgeCpuMsPerMessage: 34,
          cursorRedisMB: 115,
          hotQueryP95Ms: { "messages page": 7.5 },
        },
        {
          healthz: { ratio: 0.41, requestsPerSecond: 3400 },
          mixed: { p95Ms: 25, errors: 3 },
          sse: { p95Ms: 1500, errors: 2 },
        },
      ),
      budgets,
    );
    expect(failures).toEqual([
      "healthz: 0.410× baseline (3400 req/s), budget ≥ 0.8×",
      "mixed: p95 25.00 ms, budget ≤ 20 ms",
      "mixed: 3 errors, budget ≤ 0",
      "sse: p95 1500 ms, budget ≤ 1100 ms",
      "sse: 2 errors, budget ≤ 0",
      "app peak RSS: 300 MB, budget ≤ 256 MB",
      "knowledge provider: 34.000 ms CPU per message at 62 KB, budget ≤ 1 ms",
      "Redis for 500 cursors: 115.00 MB, budget ≤ 5 MB",
      "hot query messages page: p95 7.50 ms, budget ≤ 5 ms",
    ]);
  });

  it("holds each ratio at its own budget: exactly at it passes, just under fails", () => {
    expect(checkBudgets(report({}, { postMessage: { ratio: 0.15 } }), budgets)).toEqual([]);
    expect(checkBudgets(report({}, { replicaRead: { ratio: 0.29 } }), budgets)).toEqual([
      "replicaRead: 0.290× baseline (1000 req/s), budget ≥ 0.3×",
    ]);
  });

  it("fails a scenario that was not measured, a mixed run at other connections, and too few streams", () => {
    const partial = report({}, { mixed: { connections: 20 }, sse: { requests: 200 } });
    partial.scenarios = partial.scenarios.filter((s) => s.key !== "cachedMessages");
    expect(checkBudgets(partial, budgets)).toEqual([
      "cachedMessages: not measured in this run",
      "mixed: ran at 20 connections, the budget is for 50",
      "sse: 200 streams opened, the budget is for 1000",
    ]);
  });

  it("fails a run whose hot queries were not measured, and holds each query at the budget", () => {
    expect(checkBudgets(report({ hotQueryP95Ms: undefined }), budgets)).toEqual([
      "hot queries: not measured in this run",
    ]);
    expect(checkBudgets(report({ hotQueryP95Ms: {} }), budgets)).toEqual([
      "hot queries: not measured in this run",
    ]);
    expect(checkBudgets(report({ hotQueryP95Ms: { "messages page": 5 } }), budgets)).toEqual([]);
    expect(checkBudgets(report({ hotQueryP95Ms: { "messages page": 5.01 } }), budgets)).toEqual([
      "hot query messages page: p95 5.01 ms, budget ≤ 5 ms",
    ]);
  });

  it("counts errors in a throughput scenario and never passes a NaN figure", () => {
    expect(
      checkBudgets(report({ peakAppRssMB: Number.NaN }, { cachedChatbot: { errors: 4 } }), budgets),
    ).toEqual(["cachedChatbot: 4 errors, budget 0", "app peak RSS: NaN MB, budget ≤ 256 MB"]);
  });
});

describe("budgets.json", () => {
  it("holds the agreed budgets", () => {
    expect(budgets.throughputRatios).toEqual({
      healthz: 0.8,
      cachedChatbot: 0.5,
      cachedMessages: 0.5,
      replicaRead: 0.3,
      postMessage: 0.15,
    });
    expect(budgets).toMatchObject({
      mixed: { connections: 50, maxP95Ms: 20, maxErrors: 0 },
      sse: { streams: 1000, maxP95Ms: 1100, maxErrors: 0 },
      maxAppRssMB: 256,
      maxKnowledgeCpuMsPerMessage: 1,
      maxCursorRedisMB: 5,
      maxHotQueryP95Ms: 5,
    });
  });

  it("rejects a budgets file with an unknown or missing key", () => {
    expect(budgetsSchema.safeParse({ ...budgets, typo: 1 }).success).toBe(false);
    const { maxAppRssMB: _, ...missing } = budgets;
    expect(budgetsSchema.safeParse(missing).success).toBe(false);
  });
});
