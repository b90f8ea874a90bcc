/**
 * Cloudflare rulesets: the API is rate limited at the edge, before traffic reaches the origin.
 */
import * as cloudflare from "@pulumi/cloudflare";
import type { StackValidationPolicy } from "@pulumi/policy";
import type * as pulumi from "@pulumi/pulumi";

type RulesetRule = pulumi.Unwrap<cloudflare.types.input.RulesetRule>;

export interface ApiRateLimitConfig {
  pathPrefix: string;
}

/** An enabled rate-limit rule whose expression matches on the request path and names the prefix. */
export function coversPath(rule: RulesetRule, pathPrefix: string): boolean {
  return (
    rule.enabled !== false &&
    rule.ratelimit !== undefined &&
    rule.expression.includes("http.request.uri.path") &&
    rule.expression.includes(`"${pathPrefix}`)
  );
}

export const apiRateLimit: StackValidationPolicy = {
  name: "cloudflare-api-rate-limit",
  description: "An http_ratelimit ruleset has an enabled rule covering the API path.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { pathPrefix: { type: "string", pattern: "^/", default: "/api" } } },
  validateStack: (args, reportViolation) => {
    if (!args.resources.some((r) => r.type.startsWith("cloudflare:"))) {
      args.notApplicable("The stack declares no Cloudflare resources.");
    }
    const { pathPrefix } = args.getConfig<ApiRateLimitConfig>();
    const rules: RulesetRule[] = args.resources
      .filter((r) => r.isType(cloudflare.Ruleset) && r.props.phase === "http_ratelimit")
      .flatMap((r) => r.props.rules ?? []);
    if (!rules.some((rule) => coversPath(rule, pathPrefix))) {
      reportViolation(
        `No enabled rate-limit rule (phase http_ratelimit) matches paths under "${pathPrefix}".`,
      );
    }
  },
};

export const rulesetPolicies = [apiRateLimit];
