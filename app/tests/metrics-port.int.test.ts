/**
 * METRICS_PORT: in the cluster /metrics is served on a port of its own, which only Prometheus reaches
 * (infra/components/workload), and the API port no longer answers it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../../tests/support/app/harness";
import { loadConfig } from "../src/config";

describe("METRICS_PORT", () => {
  let app: TestApp;
  let metricsUrl: string;

  beforeAll(async () => {
    app = await startTestApp("metrics_port", (config) => ({ ...config, metricsPort: 0 }));
    metricsUrl = app.metricsUrl;
  });
  afterAll(async () => {
    await app?.close();
  });

  it("serves the Prometheus text format on the metrics port only", async () => {
    expect(new URL(metricsUrl).port).not.toBe(new URL(app.url).port);
    const scraped = await fetch(metricsUrl);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/^parley_build_info\{/m);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  });

  it("answers nothing but GET /metrics there", async () => {
    const other = await fetch(new URL("/api/chatbots", metricsUrl));
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({
      error: { code: "not_found", message: "only GET /metrics is served here" },
    });
  });

  it("is read from the environment, named in errors", () => {
    const base = {
      DATABASE_URL: "postgres://u@127.0.0.1:5432/d",
      REDIS_URL: "redis://127.0.0.1:6379",
      JWT_SECRET: "x".repeat(32),
    };
    expect(loadConfig({ ...base, METRICS_PORT: "9464" }).metricsPort).toBe(9464);
    expect(loadConfig(base).metricsPort).toBeUndefined();
    expect(() => loadConfig({ ...base, METRICS_PORT: "99999" })).toThrow(/METRICS_PORT/);
  });
});
