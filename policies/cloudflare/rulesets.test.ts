import { describe, expect, it } from "vitest";
import { rateLimitRuleset } from "../testing/fixtures";
import { messages, mutate, planned } from "../testing/policyTest";
import { apiRateLimit } from "./rulesets";

const type = "cloudflare:index/ruleset:Ruleset";
const missing = 'No enabled rate-limit rule (phase http_ratelimit) matches paths under "/api".';

describe("cloudflare-api-rate-limit", () => {
  it("passes a rate-limit rule on /api", async () => {
    expect(await messages(apiRateLimit, [planned(type, rateLimitRuleset)])).toEqual([]);
  });

  it("the rule is disabled", async () => {
    expect(
      await messages(apiRateLimit, [planned(type, mutate(rateLimitRuleset, "rules.0.enabled", false))]),
    ).toEqual([missing]);
  });

  it("the rule matches another path", async () => {
    const other = mutate(
      rateLimitRuleset,
      "rules.0.expression",
      '(starts_with(http.request.uri.path, "/static/"))',
    );
    expect(await messages(apiRateLimit, [planned(type, other)])).toEqual([missing]);
  });

  it("the rule has no rate limit", async () => {
    expect(
      await messages(apiRateLimit, [planned(type, mutate(rateLimitRuleset, "rules.0.ratelimit", undefined))]),
    ).toEqual([missing]);
  });

  it("the ruleset is in another phase", async () => {
    const custom = mutate(rateLimitRuleset, "phase", "http_request_firewall_custom");
    expect(await messages(apiRateLimit, [planned(type, custom)])).toEqual([missing]);
  });

  it("the path prefix comes from the pack config", async () => {
    expect(await messages(apiRateLimit, [planned(type, rateLimitRuleset)], { pathPrefix: "/v2" })).toEqual([
      'No enabled rate-limit rule (phase http_ratelimit) matches paths under "/v2".',
    ]);
  });
});
