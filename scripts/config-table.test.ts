import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stackSettings } from "../infra/config";
import { configTable, withConfigTable } from "./config-table";

const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

describe("the README's stack-config table", () => {
  it("is the one generated from infra/config.ts (run `npm run docs:config` after changing a setting)", () => {
    expect(readme).toBe(withConfigTable(readme));
  });

  it("has one row per setting, with its default", () => {
    const table = configTable();
    for (const key of Object.keys(stackSettings("prod"))) expect(table).toContain(`| \`${key}\` `);
    expect(table).toMatch(/\| `parley:aiMonthlyBudgetUsd` +\|[^|]+\| prod `25000`, dev `500` +\|/);
    expect(table).toMatch(/\| `parley:vpcCidr` +\|[^|]+\| required +\|/);
    expect(table).toMatch(/\| `parley:openaiApiKey` +\|[^|]+\| none +\|/);
  });

  it("fails loudly when the README lost its markers", () => {
    expect(() => withConfigTable("# no table here")).toThrow(/lacks the markers/);
  });
});
