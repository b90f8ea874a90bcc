import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { withTempDir } from "../tests/support/observability/observability-tools";
import { observabilityFiles, renderObservability, writeObservability } from "./render";

describe("renderObservability / writeObservability", () => {
  it("renders the same artifacts every time (a plain function of the sources)", () => {
    expect(renderObservability()).toEqual(renderObservability());
  });

  it("writes rules.yaml, both Alertmanager configs and one JSON file per dashboard uid", () => {
    withTempDir((parent) => {
      // A folder that does not exist yet, like dist/observability in a fresh clone.
      const dir = join(parent, "dist", "observability");
      const rendered = writeObservability(dir);
      expect(parse(readFileSync(join(dir, observabilityFiles.rules), "utf8"))).toEqual(rendered.rules);
      expect(readFileSync(join(dir, observabilityFiles.alertmanager), "utf8")).toBe(
        rendered.alertmanagerYaml,
      );
      expect(readFileSync(join(dir, observabilityFiles.alertmanagerLocal), "utf8")).toBe(
        rendered.alertmanagerLocalYaml,
      );
      const files = readdirSync(join(dir, observabilityFiles.dashboards)).sort();
      expect(files).toEqual(rendered.dashboards.map((dashboard) => `${dashboard.uid}.json`).sort());
      for (const dashboard of rendered.dashboards) {
        const written = JSON.parse(readFileSync(join(dir, "dashboards", `${dashboard.uid}.json`), "utf8"));
        expect(written).toEqual(dashboard.json);
      }
    });
  });

  it("is a plain Prometheus rule file: groups of named rules, each a record or an alert", () => {
    const { rules } = renderObservability();
    expect(Object.keys(rules)).toEqual(["groups"]);
    for (const group of rules.groups) {
      expect(group.name).toMatch(/^parley-/);
      for (const rule of group.rules) expect("record" in rule !== "alert" in rule).toBe(true);
    }
  });
});
