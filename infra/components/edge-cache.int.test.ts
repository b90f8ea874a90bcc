/**
 * The edge's cache rules agree with the app's actual headers: for each kind of response the app
 * serves, the edge (modelled from the declared rules) caches it exactly when the app marks it
 * cacheable by a shared cache, and never caches an API response to a request carrying a token.
 *
 * The model follows Cloudflare's cache rules (developers.cloudflare.com/cache/how-to/cache-rules/):
 * every matching rule applies, later ones winning; `cache: false` bypasses the cache; with
 * `edgeTtl: respect_origin` the origin's Cache-Control decides. Paths no rule matches are outside
 * this check unless the app marks them shared-cacheable (then a rule must exist for them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, registerTenant, startTestApp, type TestApp } from "../../tests/support/app/harness";
import { cacheRules } from "./edge";

const host = "chat.parley.example.com";
const rules = cacheRules(host) as Array<{
  ref: string;
  expression: string;
  actionParameters: { cache: boolean; edgeTtl?: { mode: string } };
}>;

/** The clauses the edge's expressions use: the host, a path prefix. Anything else is a test failure. */
function matches(expression: string, request: { host: string; path: string }): boolean {
  return expression.split(" and ").every((clause) => {
    const hostIs = /^http\.host eq "([^"]+)"$/.exec(clause);
    if (hostIs) return request.host === hostIs[1];
    const under = /^starts_with\(http\.request\.uri\.path, "([^"]+)"\)$/.exec(clause);
    if (under) return request.path.startsWith(under[1]);
    throw new Error(`the cache-rule model does not know the clause ${clause}`);
  });
}

/** Whether a shared cache may store a response with this Cache-Control. */
function sharedCacheable(cacheControl: string | null): boolean {
  const directives = (cacheControl ?? "")
    .toLowerCase()
    .split(",")
    .map((d) => d.trim());
  if (directives.some((d) => ["no-store", "private", "no-cache"].includes(d))) return false;
  const maxAge = directives.map((d) => /^(?:s-)?max-age=(\d+)$/.exec(d)?.[1]).find((v) => v !== undefined);
  return directives.includes("public") && Number(maxAge ?? 0) > 0;
}

type EdgeDecision = "cached" | "bypassed" | "no rule";

/** What the declared rules make the edge do with this response. */
function edgeDecision(path: string, cacheControl: string | null): EdgeDecision {
  const applied = rules.filter((rule) => matches(rule.expression, { host, path }));
  const last = applied.at(-1);
  if (!last) return "no rule";
  if (!last.actionParameters.cache) return "bypassed";
  expect(last.actionParameters.edgeTtl?.mode, `${last.ref} must let the app decide`).toBe("respect_origin");
  return sharedCacheable(cacheControl) ? "cached" : "bypassed";
}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp("edge_cache");
});
afterAll(async () => {
  await app?.close();
});

describe("the edge caches what the app marks cacheable and nothing else", () => {
  it("content-hashed assets the page loads: the app marks them immutable and the edge caches them", async () => {
    const page = await fetch(`${app.url}/`);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]);
    expect(assets.length, "the chat page loads its scripts and styles from /assets/").toBeGreaterThan(0);
    for (const asset of assets) {
      const response = await fetch(`${app.url}${asset}`);
      expect(response.status, asset).toBe(200);
      const cacheControl = response.headers.get("cache-control");
      expect(cacheControl ?? "(no Cache-Control)", asset).toMatch(/public/);
      expect(cacheControl ?? "(no Cache-Control)", asset).toMatch(/immutable/);
      expect(edgeDecision(asset, cacheControl), asset).toBe("cached");
    }
  });

  it("the HTML page: the app says no-cache and no rule makes the edge cache it", async () => {
    const page = await fetch(`${app.url}/`);
    expect(page.headers.get("cache-control") ?? "(no Cache-Control)").toMatch(/no-cache/);
    expect(edgeDecision("/", page.headers.get("cache-control"))).not.toBe("cached");
  });

  it("API responses to requests with a token: never cacheable by the app, always bypassed by the edge", async () => {
    const tenant = await registerTenant(app.url);
    for (const path of ["/api/chatbots", "/api/conversations", "/api/analytics/dashboard"]) {
      const response = await api(app.url, "GET", path, { token: tenant.token });
      expect(response.status, path).toBe(200);
      const cacheControl = response.headers.get("cache-control");
      expect(sharedCacheable(cacheControl), `${path}: ${cacheControl}`).toBe(false);
      expect(cacheControl ?? "(no Cache-Control)", path).toMatch(/no-store|private/);
      expect(edgeDecision(path, cacheControl), path).toBe("bypassed");
    }
    // Even a response that claimed to be public would not be stored at the edge.
    expect(edgeDecision("/api/chatbots", "public, max-age=600")).toBe("bypassed");
  });

  it("the model rejects what the app would get wrong: a public API response, an asset without max-age", () => {
    expect(sharedCacheable("public, max-age=31536000, immutable")).toBe(true);
    expect(sharedCacheable("private, max-age=60")).toBe(false);
    expect(sharedCacheable("public")).toBe(false);
    expect(edgeDecision("/assets/app-1a2b3c.js", "no-cache")).toBe("bypassed");
  });
});
