import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { withTempDir } from "../tests/support/observability/observability-tools";
import { observabilityFiles, renderObservability, writeObservability } from "./render";

/** The rendered artifacts, committed so a review shows what a change does to every rule and panel. */
const committedDir = join(__dirname, "rendered");

/** Every file under `dir`, by path relative to it. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, "utf8"));
  }
  return files;
}

describe("renderObservability / writeObservability", () => {
  it("matches the committed observability/rendered/ byte for byte (`npm run render -- observability/rendered` updates it)", () => {
    withTempDir((dir) => {
      writeObservability(dir);
      const fresh = filesUnder(dir);
      const committed = filesUnder(committedDir);
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [file, text] of fresh)
        expect(committed.get(file), `observability/rendered/${file} is out of date`).toBe(text);
    });
  });

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
