import { describe, expect, it } from "vitest";
import { rateLimitRuleset } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { apiRateLimit, rulesHostScoped, scopedHost } from "./rulesets";

const type = "cloudflare:index/ruleset:Ruleset";
const missing = 'No enabled rate-limit rule (phase http_ratelimit) matches paths under "/api".';
const onPro = { pathPrefix: "/api", zonePlan: "pro" };

describe("cloudflare-api-rate-limit", () => {
  it("passes a rate-limit rule on /api", async () => {
    expect(await messages(apiRateLimit, [planned(type, rateLimitRuleset)], onPro)).toEqual([]);
  });

  it("the rule is disabled", async () => {
    expect(
      await messages(
        apiRateLimit,
        [planned(type, mutate(rateLimitRuleset, "rules.0.enabled", false))],
        onPro,
      ),
    ).toEqual([missing]);
  });

  it("the rule matches another path", async () => {
    const other = mutate(
      rateLimitRuleset,
      "rules.0.expression",
      '(starts_with(http.request.uri.path, "/static/"))',
    );
    expect(await messages(apiRateLimit, [planned(type, other)], onPro)).toEqual([missing]);
  });

  it("the rule has no rate limit", async () => {
    expect(
      await messages(
        apiRateLimit,
        [planned(type, mutate(rateLimitRuleset, "rules.0.ratelimit", undefined))],
        onPro,
      ),
    ).toEqual([missing]);
  });

  it("the ruleset is in another phase", async () => {
    const custom = mutate(rateLimitRuleset, "phase", "http_request_firewall_custom");
    expect(await messages(apiRateLimit, [planned(type, custom)], onPro)).toEqual([missing]);
  });

  it("the path prefix comes from the pack config", async () => {
    expect(
      await messages(apiRateLimit, [planned(type, rateLimitRuleset)], { ...onPro, pathPrefix: "/v2" }),
    ).toEqual(['No enabled rate-limit rule (phase http_ratelimit) matches paths under "/v2".']);
  });

  it("on a Free zone (rate-limiting rules match on the path only, never the host) nothing is required", async () => {
    const cache = mutate(rateLimitRuleset, "phase", "http_request_cache_settings");
    expect(
      await messages(apiRateLimit, [planned(type, cache)], { pathPrefix: "/api", zonePlan: "free" }),
    ).toEqual([]);
    expect(await messages(apiRateLimit, [planned(type, cache)], onPro)).toEqual([missing]);
  });

  it("a stack that owns none of the zone's singletons is not checked (the owner is)", async () => {
    const record = planned("cloudflare:index/dnsRecord:DnsRecord", {
      zoneId: "z",
      name: "chat-dev.example.com",
    });
    expect(await messages(apiRateLimit, [record], onPro)).toEqual([]);
  });
});

describe("cloudflare-rules-host-scoped", () => {
  const scoped = mutate(
    rateLimitRuleset,
    "rules.0.expression",
    'http.host eq "chat.example.com" and starts_with(http.request.uri.path, "/api/")',
  );

  it("passes rules that start by naming their host", async () => {
    expect(await messages(rulesHostScoped, [planned(type, scoped)])).toEqual([]);
    expect(scopedHost('http.host eq "chat.example.com"')).toBe("chat.example.com");
  });

  it("a rule without a host acts on every host of the shared zone", async () => {
    expect(await messages(rulesHostScoped, [planned(type, rateLimitRuleset)])).toEqual([
      'Rule (starts_with(http.request.uri.path, "/api/")) (phase http_ratelimit) is not scoped to a host: it would act on every host of the zone.',
    ]);
  });

  it("a host named only later, or as an alternative, does not scope the rule", () => {
    expect(scopedHost('starts_with(http.request.uri.path, "/api/") and http.host eq "a.example.com"')).toBe(
      undefined,
    );
    expect(scopedHost('http.host eq "a.example.com" or true')).toBe(undefined);
  });
});
