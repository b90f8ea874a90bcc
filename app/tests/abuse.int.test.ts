/**
 * Abuse of the auth endpoints: per-account login backoff whatever address the attempts come from,
 * a sign-up limit per client, common passwords refused, token responses never cached (no-store, no
 * ETag), tokens that are not valid yet (nbf, future iat) or that name no valid organization refused
 * with a 401, and forwarding headers believed only from the configured proxies (TRUSTED_PROXY_CIDRS).
 */
import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, jwtSecret, registerTenant, startTestApp, type TestApp } from "../../tests/support/app/harness";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("abuse", (config) => ({
    ...config,
    rateLimits: { ...config.rateLimits, register: { limit: 3, windowSeconds: 3600 } },
    loginBackoff: { freeFailures: 3, baseDelaySeconds: 1, maxDelaySeconds: 60, windowSeconds: 600 },
  }));
});
afterAll(() => app?.close());

const register = (email: string, password: string, ip: string) =>
  api(app.url, "POST", "/api/auth/register", {
    body: { email, password },
    headers: { "x-forwarded-for": ip },
  });

describe("login", () => {
  it("backs off per account however the attempts' addresses rotate", async () => {
    const tenant = await registerTenant(app.url);
    let address = 0;
    const login = (password: string) =>
      api(app.url, "POST", "/api/auth/login", {
        body: { email: tenant.email.toUpperCase(), password },
        headers: { "x-forwarded-for": `198.51.100.${++address}`, "cf-connecting-ip": `203.0.113.${address}` },
      });
    for (let attempt = 0; attempt < 3; attempt++) expect((await login("wrong guess")).status).toBe(401);
    // The fourth attempt waits 1 s after the third failure, even with the right password.
    const refused = await login(tenant.password);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: "rate_limited" });
    expect(Number(refused.headers.get("retry-after"))).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await login("wrong again")).status).toBe(401);
    // Four failures: now 2 s.
    const longer = await login(tenant.password);
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get("retry-after"))).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await login(tenant.password)).status).toBe(200);
    // A success clears the count: failures start free again.
    expect((await login("wrong guess")).status).toBe(401);
    expect((await login(tenant.password)).status).toBe(200);
  });

  it("counts RateLimit-Remaining down to 0 over the sign-up limit, then refuses with Retry-After", async () => {
    const ip = "192.0.2.177";
    const remaining: Array<string | null> = [];
    for (let n = 0; n < 3; n++) {
      const response = await register(`remaining-${n}-${randomUUID()}@example.com`, "a long passphrase", ip);
      expect(response.status).toBe(201);
      remaining.push(response.headers.get("ratelimit-remaining"));
    }
    expect(remaining).toEqual(["2", "1", "0"]);
    const refused = await register(`remaining-x-${randomUUID()}@example.com`, "a long passphrase", ip);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
  });

  it("answers token responses with Cache-Control: no-store and no ETag to revalidate", async () => {
    const email = `nostore-${randomUUID()}@example.com`;
    const registered = await register(email, "a long passphrase", "192.0.2.200");
    expect(registered.status).toBe(201);
    expect(registered.headers.get("cache-control")).toBe("no-store");
    const login = await api(app.url, "POST", "/api/auth/login", {
      body: { email, password: "a long passphrase" },
    });
    expect(login.status).toBe(200);
    expect(login.headers.get("cache-control")).toBe("no-store");
    expect(login.headers.get("pragma")).toBe("no-cache");
    expect(login.headers.get("etag")).toBeNull();
  });
});

describe("sign-up", () => {
  it("limits registrations per client address", async () => {
    const statuses = [];
    for (let index = 0; index < 4; index++)
      statuses.push(
        (await register(`signup-${randomUUID()}@example.com`, "a long passphrase", "192.0.2.77")).status,
      );
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(
      (await register(`signup-${randomUUID()}@example.com`, "a long passphrase", "192.0.2.78")).status,
    ).toBe(201);
  });

  it("refuses the most common passwords, naming the field", async () => {
    // Each from its own address: attempts count against the sign-up limit, refused or not.
    for (const [index, password] of ["password", "Password1", "12345678", "qwertyuiop"].entries()) {
      const response = await register(
        `common-${randomUUID()}@example.com`,
        password,
        `192.0.2.${90 + index}`,
      );
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe("validation_failed");
      expect(response.body.error.message).toMatch(/^body\.password: .*commonly used/);
    }
  });
});

describe("tokens", () => {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const signed = (claims: object) => {
    const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
    return `${input}.${createHmac("sha256", jwtSecret).update(input).digest("base64url")}`;
  };

  it("refuses tokens not valid yet, issued in the future, or naming no valid organization", async () => {
    const tenant = await registerTenant(app.url);
    const now = Math.floor(Date.now() / 1000);
    const base = { sub: tenant.userId, org: tenant.organizationId, iat: now, exp: now + 600 };
    const cases: Array<[object, string]> = [
      [{ ...base, nbf: now + 300 }, "token not valid yet"],
      [{ ...base, iat: now + 300 }, "token issued in the future"],
      [{ ...base, org: "not-a-uuid" }, "token names no valid user and organization"],
      [{ ...base, sub: "1; DROP TABLE users" }, "token names no valid user and organization"],
    ];
    for (const [claims, message] of cases) {
      const response = await api(app.url, "GET", "/api/chatbots", { token: signed(claims) });
      expect(response.status).toBe(401);
      expect(response.body.error).toEqual({ code: "invalid_token", message });
    }
    expect((await api(app.url, "GET", "/api/chatbots", { token: signed(base) })).status).toBe(200);
  });
});

describe("trusted proxies", () => {
  let direct: TestApp;
  beforeAll(async () => {
    // Only a private network is a proxy here: the tests' loopback peer is a plain client.
    direct = await startTestApp(
      "proxies",
      (config) => ({
        ...config,
        rateLimits: { ...config.rateLimits, login: { limit: 3, windowSeconds: 60 } },
      }),
      { TRUSTED_PROXY_CIDRS: "10.0.0.0/8" },
    );
  });
  afterAll(() => direct?.close());

  it("ignores X-Forwarded-For and CF-Connecting-IP from a peer that is not a configured proxy", async () => {
    const statuses = [];
    for (let attempt = 1; attempt <= 5; attempt++)
      statuses.push(
        (
          await api(direct.url, "POST", "/api/auth/login", {
            body: { email: "nobody@example.com", password: "guess" },
            headers: {
              "x-forwarded-for": `198.51.100.${attempt}`,
              "cf-connecting-ip": `203.0.113.${attempt}`,
            },
          })
        ).status,
      );
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});
