/**
 * Plan tiers and their monthly AI token budgets. An organization without a plan is on `defaultPlan`;
 * `organizations.monthly_token_budget`, when set, overrides its plan's budget (a negotiated contract).
 */
export const plans = {
  free: { monthlyTokens: 1_000_000 },
  team: { monthlyTokens: 20_000_000 },
  enterprise: { monthlyTokens: 200_000_000 },
} as const;

export type Plan = keyof typeof plans;

export const planNames = Object.keys(plans) as Plan[];

export const defaultPlan: Plan = "free";

/**
 * The SQL expression of an organization's monthly token budget, from its `plan` and
 * `monthly_token_budget` columns (the table's alias is `org`). Built from the constants above only.
 */
export const budgetSql = `coalesce(org.monthly_token_budget, CASE org.plan ${planNames
  .map((plan) => `WHEN '${plan}' THEN ${plans[plan].monthlyTokens}`)
  .join(" ")} ELSE ${plans[defaultPlan].monthlyTokens} END)`;

/** The first day (UTC) of the month `at` falls in, as YYYY-MM-DD. */
export const monthOf = (at: Date) => `${at.toISOString().slice(0, 7)}-01`;

/** The first instant of the next month (UTC): when a month's budget renews. */
export function nextMonth(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}
