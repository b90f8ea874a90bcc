/**
 * Cloudflare rulesets: the API is rate limited at the edge, before traffic reaches the origin, where
 * the zone's plan allows it; and every rule names the host it is for, because the zone's one
 * entry-point ruleset per phase is shared by every host of the zone.
 */
import * as cloudflare from "@pulumi/cloudflare";
import type { StackValidationPolicy } from "@pulumi/policy";
import type * as pulumi from "@pulumi/pulumi";
import { canScopeRateLimitsToHost, type ZonePlan, zonePlans } from "../../infra/components/edge-plan";
import { requireZoneOwner } from "./zone";

type RulesetRule = pulumi.Unwrap<cloudflare.types.input.RulesetRule>;

export interface ApiRateLimitConfig {
  pathPrefix: string;
  /** The zone's plan, as in the stack's `parley:cloudflareZonePlan` (npm run check:stacks compares them). */
  zonePlan: ZonePlan;
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
  configSchema: {
    properties: {
      pathPrefix: { type: "string", pattern: "^/", default: "/api" },
      zonePlan: { type: "string", enum: [...zonePlans], default: "free" },
    },
  },
  validateStack: (args, reportViolation) => {
    requireZoneOwner(args);
    const { pathPrefix, zonePlan } = args.getConfig<ApiRateLimitConfig>();
    if (!canScopeRateLimitsToHost(zonePlan)) {
      args.notApplicable(
        `On the ${zonePlan} plan a rate-limiting rule cannot be scoped to a host; the app's own limits apply.`,
      );
    }
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

/** The host a rule expression is limited to (`http.host eq "<host>"` as its first clause). */
export function scopedHost(expression: string): string | undefined {
  return /^\(?http\.host eq "([^"]+)"(?: and |\)?$)/.exec(expression)?.[1];
}

export const rulesHostScoped: StackValidationPolicy = {
  name: "cloudflare-rules-host-scoped",
  description: "Every rule of a zone entry-point ruleset starts by naming the host it is for.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    requireZoneOwner(args);
    for (const ruleset of args.resources.filter(
      (r) => r.isType(cloudflare.Ruleset) && r.props.kind === "zone",
    )) {
      for (const rule of (ruleset.props.rules ?? []) as RulesetRule[]) {
        if (!scopedHost(rule.expression)) {
          reportViolation(
            `Rule ${rule.ref ?? rule.expression} (phase ${ruleset.props.phase}) is not scoped to a host: it would act on every host of the zone.`,
            ruleset.urn,
          );
        }
      }
    }
  },
};

export const rulesetPolicies = [apiRateLimit, rulesHostScoped];
