/**
 * What each Cloudflare zone plan allows the edge to declare. The edge component asks this module
 * before it declares a rule, and the stack config rejects a request for a feature the zone's plan
 * lacks, so `pulumi up` never meets a plan-entitlement error from the Cloudflare API.
 *
 * Rate limiting by plan (developers.cloudflare.com/waf/rate-limiting-rules/, "Availability"):
 * - Free: 1 rule; expression fields Path and Verified Bot only; period 10 s; mitigation timeout 10 s.
 * - Pro: 2 rules; + Host, URI, Full URI, Query; periods up to 60 s; timeouts up to 1 h.
 * - Business: 5 rules; + Method, Source IP, User Agent; periods up to 10 min; timeouts up to 1 day.
 * - Enterprise: 100 rules (contract); general request and header fields; periods up to 65535 s.
 * Managed WAF (developers.cloudflare.com/waf/managed-rules/): the Cloudflare Free Managed Ruleset
 * is available on every plan; the Cloudflare Managed Ruleset needs Pro or higher.
 */

export const zonePlans = ["free", "pro", "business", "enterprise"] as const;
export type ZonePlan = (typeof zonePlans)[number];

/** The edge rate limits the component can declare: the whole API, and the stricter login limit. */
export const edgeRateLimitKinds = ["api", "login"] as const;
export type EdgeRateLimitKind = (typeof edgeRateLimitKinds)[number];

/** Cloudflare Free Managed Ruleset, available on every plan. */
export const freeManagedRulesetId = "77454fe2d30c4220b5701f6fdfb893ba";
/** Cloudflare Managed Ruleset, Pro and higher. */
export const cloudflareManagedRulesetId = "efb7b8c949ac4650a09736fc376e9aee";

export interface PlanCapabilities {
  /** Rate-limiting rules per zone. */
  rateLimitRules: number;
  /** Fields a rate-limiting rule's expression may use (undefined: any request field). */
  rateLimitFields?: readonly string[];
  rateLimitPeriodMaxSeconds: number;
  mitigationTimeoutMaxSeconds: number;
  /** The managed WAF ruleset the zone may execute. */
  managedRulesetId: string;
}

const proFields = [
  "http.host",
  "http.request.uri",
  "http.request.uri.path",
  "http.request.full_uri",
  "http.request.uri.query",
  "cf.bot_management.verified_bot",
];

export const planCapabilities: Record<ZonePlan, PlanCapabilities> = {
  free: {
    rateLimitRules: 1,
    rateLimitFields: ["http.request.uri.path", "cf.bot_management.verified_bot"],
    rateLimitPeriodMaxSeconds: 10,
    mitigationTimeoutMaxSeconds: 10,
    managedRulesetId: freeManagedRulesetId,
  },
  pro: {
    rateLimitRules: 2,
    rateLimitFields: proFields,
    rateLimitPeriodMaxSeconds: 60,
    mitigationTimeoutMaxSeconds: 3600,
    managedRulesetId: cloudflareManagedRulesetId,
  },
  business: {
    rateLimitRules: 5,
    rateLimitFields: [...proFields, "http.request.method", "ip.src", "http.user_agent"],
    rateLimitPeriodMaxSeconds: 600,
    mitigationTimeoutMaxSeconds: 86_400,
    managedRulesetId: cloudflareManagedRulesetId,
  },
  enterprise: {
    rateLimitRules: 100,
    rateLimitPeriodMaxSeconds: 65_535,
    mitigationTimeoutMaxSeconds: 86_400,
    managedRulesetId: cloudflareManagedRulesetId,
  },
};

/**
 * Whether a rate-limiting rule can be limited to one host on this plan. Two stacks share a zone, so
 * a rule that cannot name its host would also count and block the other stack's traffic.
 */
export const canScopeRateLimitsToHost = (plan: ZonePlan): boolean => {
  const fields = planCapabilities[plan].rateLimitFields;
  return fields === undefined || fields.includes("http.host");
};

/** The edge rate limits a plan can carry, scoped to the stack's host; the app's own limits cover the rest. */
export function allowedEdgeRateLimits(plan: ZonePlan): EdgeRateLimitKind[] {
  if (!canScopeRateLimitsToHost(plan)) return [];
  return [...edgeRateLimitKinds].slice(0, planCapabilities[plan].rateLimitRules);
}

/** Every `a.b.c`-shaped field a Rules-language expression names (string literals removed first). */
export function expressionFields(expression: string): string[] {
  const withoutStrings = expression.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const fields = withoutStrings.match(/\b(?:http|ip|cf)\.[a-z_.]+[a-z_]/g) ?? [];
  return [...new Set(fields)];
}

export interface RateLimitRuleShape {
  ref?: string;
  expression: string;
  ratelimit?: { period: number; mitigationTimeout?: number };
}

/** What in these rate-limiting rules the plan does not allow, one line each (empty when they fit). */
export function rateLimitPlanViolations(plan: ZonePlan, rules: RateLimitRuleShape[]): string[] {
  const capabilities = planCapabilities[plan];
  const problems: string[] = [];
  if (rules.length > capabilities.rateLimitRules) {
    problems.push(
      `${rules.length} rate-limiting rules exceed the ${plan} plan's ${capabilities.rateLimitRules}`,
    );
  }
  for (const rule of rules) {
    const name = rule.ref ?? rule.expression;
    const allowedFields = capabilities.rateLimitFields;
    const unavailable = allowedFields
      ? expressionFields(rule.expression).filter((field) => !allowedFields.includes(field))
      : [];
    if (unavailable.length > 0) {
      problems.push(`rule ${name} matches on ${unavailable.join(", ")}, not available on the ${plan} plan`);
    }
    const period = rule.ratelimit?.period ?? 0;
    if (period > capabilities.rateLimitPeriodMaxSeconds) {
      problems.push(
        `rule ${name} counts over ${period} s; the ${plan} plan allows up to ${capabilities.rateLimitPeriodMaxSeconds} s`,
      );
    }
    const timeout = rule.ratelimit?.mitigationTimeout ?? 0;
    if (timeout > capabilities.mitigationTimeoutMaxSeconds) {
      problems.push(
        `rule ${name} blocks for ${timeout} s; the ${plan} plan allows up to ${capabilities.mitigationTimeoutMaxSeconds} s`,
      );
    }
  }
  return problems;
}
