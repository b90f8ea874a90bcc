import { beforeAll, describe, expect, it } from "vitest";
import { crossStackIssues, loadStackPlan, type StackPlan, zoneSingletons } from "./zone-ownership";

const zoneId = "0123456789abcdef0123456789abcdef";
let prod: StackPlan;
let dev: StackPlan;
beforeAll(async () => {
  prod = await loadStackPlan("prod");
  dev = await loadStackPlan("dev");
});

const withResources = (plan: StackPlan, edit: (resources: StackPlan["resources"]) => void): StackPlan => {
  const resources = structuredClone(plan.resources);
  edit(resources);
  return { ...plan, resources };
};

describe("cross-stack check over the dev and prod plans (npm run check:stacks)", () => {
  it("the committed stacks share their zone: one owner, one plan, every rule on its own host", () => {
    expect(crossStackIssues([prod, dev])).toEqual([]);
    // The owner declares the singletons; the other stack only what belongs to its host.
    expect(zoneSingletons(prod.resources).map((s) => s.what)).toEqual(
      expect.arrayContaining([
        "the http_request_cache_settings entry-point ruleset",
        "the http_ratelimit entry-point ruleset",
        "the http_request_firewall_managed entry-point ruleset",
        "zone setting ssl",
      ]),
    );
    expect(zoneSingletons(dev.resources).map((s) => s.what)).not.toContainEqual(
      expect.stringMatching(/entry-point ruleset|zone setting/),
    );
  });

  it("rejects two stacks owning one zone (each declaring its entry-point rulesets and settings)", async () => {
    const devOwner = await loadStackPlan("dev", { "parley:cloudflareZoneOwner": "true" });
    const issues = crossStackIssues([prod, { ...devOwner, packConfig: prod.packConfig }]);
    expect(issues).toContain(
      `zone ${zoneId}: the http_request_firewall_managed entry-point ruleset is declared by stacks prod, dev; exactly one stack may declare it (parley:cloudflareZoneOwner "true" in one stack; a distinct parley:publicHost per stack)`,
    );
    expect(issues).toContain(
      `zone ${zoneId}: zone setting ssl is declared by stacks prod, dev; exactly one stack may declare it (parley:cloudflareZoneOwner "true" in one stack; a distinct parley:publicHost per stack)`,
    );
    expect(issues).toContain(
      `zone ${zoneId} is owned by stacks prod, dev (parley:cloudflareZoneOwner "true"): exactly one stack may own its settings and rulesets`,
    );
  });

  it("rejects a zone nobody owns", () => {
    expect(crossStackIssues([dev])).toEqual([
      `zone ${zoneId} (stacks dev) has no owner: set parley:cloudflareZoneOwner to "true" in exactly one of them, or its settings and WAF are declared nowhere`,
    ]);
  });

  it("rejects stacks that disagree on the zone's plan", () => {
    const devOnFree = { ...dev, config: { ...dev.config, cloudflareZonePlan: "free" as const } };
    expect(crossStackIssues([prod, devOnFree])).toEqual([
      `zone ${zoneId}: stacks disagree on its plan (parley:cloudflareZonePlan: prod=pro, dev=free); a zone has one plan`,
    ]);
  });

  it("rejects a rule scoped to another stack's host, or to none", () => {
    const edited = withResources(prod, (resources) => {
      const cache = resources.find((r) => r.inputs.phase === "http_request_cache_settings");
      const rules = cache?.inputs.rules as Array<{ expression: string }>;
      rules[0].expression = rules[0].expression.replace("chat.parley", "chat-dev.parley");
      rules[1].expression = 'starts_with(http.request.uri.path, "/api/")';
    });
    expect(crossStackIssues([edited, dev])).toEqual([
      "stack prod: rule hashed_assets_as_the_origin_says (phase http_request_cache_settings) is scoped to host chat-dev.parley.example.com, not the stack's own host chat.parley.example.com",
      "stack prod: rule api_never_cached (phase http_request_cache_settings) is scoped to no host, not the stack's own host chat.parley.example.com",
    ]);
  });

  it("rejects two stacks serving the same host (its DNS record and origin-pull association)", () => {
    const sameHost = withResources(dev, (resources) => {
      for (const r of resources) {
        if (r.type === "cloudflare:index/dnsRecord:DnsRecord" && r.inputs.proxied === true)
          r.inputs.name = "chat.parley.example.com";
      }
    });
    expect(crossStackIssues([prod, sameHost])).toEqual([
      `zone ${zoneId}: DNS record CNAME chat.parley.example.com is declared by stacks prod, dev; exactly one stack may declare it (parley:cloudflareZoneOwner "true" in one stack; a distinct parley:publicHost per stack)`,
    ]);
  });

  it("rejects pack configs that disagree with the stack's role or the zone's plan", () => {
    const prodPackOnFree = {
      ...prod,
      packConfig: {
        ...prod.packConfig,
        "cloudflare-api-rate-limit": { pathPrefix: "/api", zonePlan: "free" },
      },
    };
    const devChecksZone = {
      ...dev,
      packConfig: { ...dev.packConfig, "cloudflare-ssl-strict": "mandatory" as const },
    };
    expect(crossStackIssues([prodPackOnFree, devChecksZone])).toEqual([
      'stack prod: pack config cloudflare-api-rate-limit.zonePlan = "free" disagrees with parley:cloudflareZonePlan = "pro"',
      `stack dev does not own zone ${zoneId} but its pack config enables cloudflare-ssl-strict: set them to "disabled" (the owning stack is checked)`,
    ]);
  });
});
