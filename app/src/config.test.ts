import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config";

const valid = {
  DATABASE_URL: "postgres://app:pw@db:5432/parley",
  REDIS_URL: "redis://cache:6379",
  JWT_SECRET: "x".repeat(32),
};

describe("loadConfig", () => {
  it("applies defaults for optional variables", () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      port: 3000,
      databaseReplicaUrls: [],
      trustedProxies: ["loopback"],
      rateLimits: {
        ip: { limit: 1200, windowSeconds: 60 },
        user: { limit: 600, windowSeconds: 60 },
        login: { limit: 10, windowSeconds: 60 },
        register: { limit: 20, windowSeconds: 3600 },
      },
      dbPoolMax: 10,
      logLevel: "info",
      http: { keepAliveMs: 125_000, headersMs: 20_000, requestMs: 60_000, checkIntervalMs: 1_000 },
      ai: { provider: "knowledge", simulatedLatencyMs: 0, openai: { model: "gpt-4o-mini" } },
      appVersion: "dev",
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      ...valid,
      PORT: "0",
      DATABASE_REPLICA_URL: "postgresql://app@replica/parley",
      DATABASE_REPLICA_URLS: "postgres://app@replica-a/parley, postgresql://app@replica/parley,",
      TRUSTED_PROXY_CIDRS: "10.0.0.0/16, 173.245.48.0/20,2400:cb00::/32,loopback",
      RATE_LIMIT_IP_PER_MINUTE: "100",
      RATE_LIMIT_USER_PER_MINUTE: "50",
      RATE_LIMIT_LOGIN_PER_MINUTE: "5",
      RATE_LIMIT_REGISTER_PER_HOUR: "3",
      DB_POOL_MAX: "20",
      DB_REPLICA_POOL_MAX: "30",
      LOG_LEVEL: "warn",
      SHUTDOWN_GRACE_MS: "1000",
      HTTP_KEEP_ALIVE_TIMEOUT_MS: "65000",
      HTTP_HEADERS_TIMEOUT_MS: "2000",
      HTTP_REQUEST_TIMEOUT_MS: "4000",
      AI_PROVIDER: "openai",
      OPENAI_BASE_URL: "http://127.0.0.1:9999/v1",
      OPENAI_API_KEY: "sk-test",
      OPENAI_MODEL: "gpt-test",
      AI_SIMULATED_LATENCY_MS: "50",
      APP_VERSION: "1.2.3",
      APP_COMMIT: "abc123",
    });
    expect(config).toMatchObject({
      port: 0,
      databaseReplicaUrls: ["postgresql://app@replica/parley", "postgres://app@replica-a/parley"],
      trustedProxies: ["10.0.0.0/16", "173.245.48.0/20", "2400:cb00::/32", "loopback"],
      rateLimits: {
        ip: { limit: 100 },
        user: { limit: 50 },
        login: { limit: 5 },
        register: { limit: 3, windowSeconds: 3600 },
      },
      dbPoolMax: 20,
      dbReplicaPoolMax: 30,
      logLevel: "warn",
      shutdownGraceMs: 1000,
      http: { keepAliveMs: 65_000, headersMs: 2_000, requestMs: 4_000, checkIntervalMs: 500 },
      ai: {
        provider: "openai",
        simulatedLatencyMs: 50,
        openai: { baseUrl: "http://127.0.0.1:9999/v1", apiKey: "sk-test", model: "gpt-test" },
      },
      appVersion: "1.2.3",
      appCommit: "abc123",
    });
  });

  it("refuses HTTP timeouts Node would refuse, naming the variable and the bound", () => {
    expect(() =>
      loadConfig({ ...valid, HTTP_HEADERS_TIMEOUT_MS: "90000", HTTP_REQUEST_TIMEOUT_MS: "60000" }),
    ).toThrow('HTTP_HEADERS_TIMEOUT_MS="90000": expected at most HTTP_REQUEST_TIMEOUT_MS (60000)');
    expect(() => loadConfig({ ...valid, HTTP_KEEP_ALIVE_TIMEOUT_MS: "500" })).toThrow(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS="500": expected an integer from 1000 to 3600000',
    );
  });

  it("names the variable, the value and what is allowed", () => {
    expect(() => loadConfig({ ...valid, PORT: "70000" })).toThrow(
      'PORT="70000": expected an integer from 0 to 65535',
    );
    expect(() => loadConfig({ ...valid, DB_POOL_MAX: "lots" })).toThrow(
      'DB_POOL_MAX="lots": expected an integer from 1 to 1000',
    );
    expect(() => loadConfig({ ...valid, AI_PROVIDER: "gpt" })).toThrow(
      'AI_PROVIDER="gpt": expected knowledge or openai',
    );
    expect(() => loadConfig({ ...valid, REDIS_URL: "localhost:6379" })).toThrow(
      'REDIS_URL="localhost:6379": expected a URL starting with redis:// or rediss://',
    );
    expect(() => loadConfig({ ...valid, LOG_LEVEL: "loud" })).toThrow(
      /LOG_LEVEL="loud": expected one of fatal/,
    );
    expect(() => loadConfig({ ...valid, DATABASE_REPLICA_URLS: "postgres://a/x,mysql://b/y" })).toThrow(
      'DATABASE_REPLICA_URLS="postgres://a/x,mysql://b/y": expected a URL starting with postgres:// or postgresql://',
    );
    for (const bad of ["10.0.0.0/33", "private", "10.0.0.0/8/1", "::1/129", " , "])
      expect(() => loadConfig({ ...valid, TRUSTED_PROXY_CIDRS: bad })).toThrow(
        `TRUSTED_PROXY_CIDRS=${JSON.stringify(bad)}: expected comma-separated IP addresses or CIDRs (e.g. 10.0.0.0/16) or loopback, linklocal, uniquelocal`,
      );
  });

  it("reports missing required variables and never prints secrets", () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    expect(() => loadConfig({})).toThrow(/DATABASE_URL=unset: expected a URL starting with postgres:\/\//);
    let message = "";
    try {
      loadConfig({ ...valid, JWT_SECRET: "hunter2", DATABASE_URL: "mysql://u:topsecret@db/x" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("JWT_SECRET=(hidden): expected a secret of at least 32 characters");
    expect(message).toContain('DATABASE_URL="mysql://u:***@db/x"');
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("topsecret");
  });

  it("requires an API key for the OpenAI provider", () => {
    expect(() => loadConfig({ ...valid, AI_PROVIDER: "openai" })).toThrow(
      "OPENAI_API_KEY=unset: expected a non-empty API key (required when AI_PROVIDER=openai)",
    );
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ ...valid, PORT: "", DATABASE_REPLICA_URL: "" })).toMatchObject({
      port: 3000,
      databaseReplicaUrls: [],
    });
  });
});
