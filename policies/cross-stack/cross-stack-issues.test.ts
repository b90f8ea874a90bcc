/**
 * crossStackIssues and zoneSingletons over plans written by hand: no Pulumi program runs here (the
 * committed stacks' plans are checked in zone-ownership.test.ts), so the mutation run judges the rules
 * with these.
 */
import { describe, expect, it } from "vitest";
import { crossStackIssues, type StackPlan, zoneSingletons } from "./zone-ownership";

describe("cross-stack check over hand-made plans", () => {
  const zone = "z1";
  const resource = (type: string, inputs: Record<string, unknown>) => ({
    type,
    inputs: { zoneId: zone, ...inputs },
  });
  const ruleset = (kind: string, phase: string, expressions: string[]) =>
    resource("cloudflare:index/ruleset:Ruleset", {
      kind,
      phase,
      rules: expressions.map((expression, i) => ({ ref: `r${i}`, expression })),
    });
  const plan = (
    stack: string,
    owner: boolean,
    resources: StackPlan["resources"],
    packConfig = {},
  ): StackPlan => ({
    stack,
    config: {
      publicHost: `${stack}.example.com`,
      cloudflareZoneId: zone,
      cloudflareZonePlan: "free",
      cloudflareZoneOwner: owner,
    },
    resources,
    packConfig: owner ? packConfig : { all: "disabled", ...packConfig },
  });

  it("names every kind of zone singleton, and nothing else", () => {
    const found = zoneSingletons([
      ruleset("zone", "http_request_firewall_custom", []),
      ruleset("custom", "http_request_firewall_custom", []),
      resource("cloudflare:index/zoneSetting:ZoneSetting", { settingId: "min_tls_version" }),
      resource("cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings", {}),
      resource(
        "cloudflare:index/authenticatedOriginPullsCertificate:AuthenticatedOriginPullsCertificate",
        {},
      ),
      resource("cloudflare:index/dnsRecord:DnsRecord", { type: "CNAME", name: "a.example.com" }),
      resource("cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls", {
        configs: [{ hostname: "a.example.com" }, { hostname: "b.example.com" }],
      }),
      resource("cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls", {}),
      resource("cloudflare:index/workersRoute:WorkersRoute", { pattern: "a.example.com/*" }),
      // A zone id known only after the update cannot be compared.
      { type: "cloudflare:index/zoneSetting:ZoneSetting", inputs: { settingId: "ssl" } },
    ]);
    expect(found).toEqual(
      [
        "the http_request_firewall_custom entry-point ruleset",
        "zone setting min_tls_version",
        "the zone-level authenticated origin pulls setting",
        "the zone-level authenticated origin pulls certificate",
        "DNS record CNAME a.example.com",
        "the authenticated origin pulls association of a.example.com",
        "the authenticated origin pulls association of b.example.com",
      ].map((what) => ({ zoneId: zone, what })),
    );
  });

  it("lets one stack declare a singleton twice; two stacks may not", () => {
    const setting = resource("cloudflare:index/zoneSetting:ZoneSetting", { settingId: "ssl" });
    expect(crossStackIssues([plan("a", true, [setting, setting])])).toEqual([]);
    expect(crossStackIssues([plan("a", true, [setting]), plan("b", false, [setting])])).toEqual([
      'zone z1: zone setting ssl is declared by stacks a, b; exactly one stack may declare it (parley:cloudflareZoneOwner "true" in one stack; a distinct parley:publicHost per stack)',
    ]);
  });

  it("checks the host scope of zone entry-point rulesets only", () => {
    const unscoped = 'starts_with(http.request.uri.path, "/api/")';
    expect(
      crossStackIssues([plan("a", true, [ruleset("custom", "http_request_firewall_custom", [unscoped])])]),
    ).toEqual([]);
    expect(
      crossStackIssues([
        plan("a", true, [
          ruleset("zone", "http_ratelimit", [`(http.host eq "a.example.com" and ${unscoped})`, unscoped]),
        ]),
      ]),
    ).toEqual([
      "stack a: rule r1 (phase http_ratelimit) is scoped to no host, not the stack's own host a.example.com",
    ]);
  });

  it("names the zone policies an owner disables, one by one or all at once", () => {
    expect(crossStackIssues([plan("a", true, [], { "cloudflare-ssl-strict": "disabled" })])).toEqual([
      "stack a owns zone z1 but its pack config disables cloudflare-ssl-strict: the owner's zone settings and rules must be checked",
    ]);
    expect(crossStackIssues([plan("a", true, [], { all: "disabled" })])).toEqual([
      "stack a owns zone z1 but its pack config disables cloudflare-ssl-strict, cloudflare-min-tls, cloudflare-api-rate-limit, cloudflare-rules-host-scoped: the owner's zone settings and rules must be checked",
    ]);
    // An entry's own level wins over `all`.
    expect(
      crossStackIssues([
        plan("a", true, [], { all: "disabled", "cloudflare-ssl-strict": { enforcementLevel: "mandatory" } }),
      ]),
    ).toEqual([
      "stack a owns zone z1 but its pack config disables cloudflare-min-tls, cloudflare-api-rate-limit, cloudflare-rules-host-scoped: the owner's zone settings and rules must be checked",
    ]);
  });

  it("reads the rate-limit policy's zone plan from its object entry, and takes free otherwise", () => {
    const owner = (entry: unknown, zonePlan: "free" | "pro") => {
      const p = plan("a", true, [], { "cloudflare-api-rate-limit": entry });
      return { ...p, config: { ...p.config, cloudflareZonePlan: zonePlan } };
    };
    expect(crossStackIssues([owner("mandatory", "free")])).toEqual([]);
    expect(crossStackIssues([owner({ zonePlan: "pro" }, "pro")])).toEqual([]);
    expect(crossStackIssues([owner("mandatory", "pro")])).toEqual([
      'stack a: pack config cloudflare-api-rate-limit.zonePlan = "free" disagrees with parley:cloudflareZonePlan = "pro"',
    ]);
  });
});
