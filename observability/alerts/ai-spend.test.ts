import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderObservability } from "../render";
import type { AlertingRule } from "../types";
import { defaultAiMonthlyBudgetUsd } from "./ai-spend";

const spendAlert = (rulesYaml: string) =>
  (parse(rulesYaml) as { groups: Array<{ rules: AlertingRule[] }> }).groups
    .flatMap((group) => group.rules)
    .find((rule) => rule.alert === "ParleyAISpendOverBudget");

describe("ParleyAISpendOverBudget", () => {
  it("compares the projected monthly spend with the budget it is rendered with", () => {
    const alert = spendAlert(renderObservability({ aiMonthlyBudgetUsd: 1234 }).rulesYaml);
    expect(alert?.expr).toMatch(/\* 86400 \* scalar\(days_in_month\(\)\) > 1234$/);
    expect(alert?.annotations.summary).toContain("1234 USD");
  });

  it("uses the default budget when none is given", () => {
    expect(spendAlert(renderObservability().rulesYaml)?.expr).toMatch(
      new RegExp(`> ${defaultAiMonthlyBudgetUsd}$`),
    );
  });
});
