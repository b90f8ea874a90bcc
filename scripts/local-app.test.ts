import { describe, expect, it } from "vitest";
import { localAppConfig } from "./local-app";

const local = {
  port: 3000,
  databaseUrl: "postgres://parley@127.0.0.1:5432/parley",
  replicaUrl: "postgres://parley@127.0.0.1:5433/parley",
  redisUrl: "redis://127.0.0.1:6379",
  jwtSecret: "local-secret-0123456789abcdef0123456789",
};

describe("npm start's app config", () => {
  it("passes the rate limits and the simulated model latency from its environment to the app", () => {
    const config = localAppConfig(
      {
        RATE_LIMIT_IP_PER_MINUTE: "100000",
        RATE_LIMIT_USER_PER_MINUTE: "50000",
        RATE_LIMIT_LOGIN_PER_MINUTE: "1000",
        AI_SIMULATED_LATENCY_MS: "1000",
      },
      local,
    );
    expect(config.rateLimits.ip.limit).toBe(100_000);
    expect(config.rateLimits.user.limit).toBe(50_000);
    expect(config.rateLimits.login.limit).toBe(1000);
    expect(config.ai.simulatedLatencyMs).toBe(1000);
  });

  it("keeps the app's defaults when they are unset, and the platform's connections whatever is set", () => {
    const config = localAppConfig({ DATABASE_URL: "postgres://elsewhere/db", PORT: "9" }, local);
    expect(config.rateLimits.user.limit).toBe(600);
    expect(config.ai.simulatedLatencyMs).toBe(0);
    expect(config.databaseUrl).toBe(local.databaseUrl);
    expect(config.port).toBe(3000);
  });

  it("rejects a bad value naming the variable", () => {
    expect(() => localAppConfig({ RATE_LIMIT_USER_PER_MINUTE: "lots" }, local)).toThrow(
      /RATE_LIMIT_USER_PER_MINUTE/,
    );
  });
});
