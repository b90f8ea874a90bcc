/**
 * Every alert is held to the outage shapes, not only to firing over its line: a promtool test with
 * no series at all (missing series), and one where its condition flaps for less than its `for`. The
 * promtool runs themselves are in observability/rules.test.ts (every file in ./tests); this checks
 * that the cases exist for each alert, by the test names the files use ("missing series: …",
 * "flapping: …").
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { contractAlerts, watchdogAlert } from "../../tests/support/observability/contract-alerts";

interface AlertCheck {
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string> }>;
}
interface PromtoolTest {
  name?: string;
  alert_rule_test?: AlertCheck[];
}

const testsDir = join(__dirname, "tests");
const tests: PromtoolTest[] = readdirSync(testsDir)
  .filter((file) => file.endsWith(".test.yaml"))
  .flatMap((file) => (parse(readFileSync(join(testsDir, file), "utf8")) as { tests: PromtoolTest[] }).tests);

/** The alerts a promtool test of the shape asserts quiet (no alert) at some time. */
function quietIn(shape: string): Set<string> {
  return new Set(
    tests
      .filter((test) => test.name?.startsWith(`${shape}:`))
      .flatMap((test) => test.alert_rule_test ?? [])
      .filter((check) => (check.exp_alerts ?? []).length === 0)
      .map((check) => check.alertname),
  );
}

/** Every alert but the heartbeat, which fires whatever the series. */
const alerts = contractAlerts.filter((alert) => alert !== watchdogAlert);

/**
 * Alerts without a flapping case, and why. The AI spend is a 1-day rate: a dip shows in it only a day
 * later and over a day, so it cannot flap within its hour; ai-spend.test.yaml holds its `for`.
 */
const noFlapping = new Set(["ParleyAISpendOverBudget"]);

/** With no series at all, these fire: the page for a service with nothing left to scrape. */
const firesWithoutSeries = new Set(["ParleyTargetDown"]);

describe("outage shapes in the promtool tests", () => {
  it.each(alerts)("%s stays quiet with no series at all, or pages if it reports their absence", (alert) => {
    const missing = tests.filter((test) => test.name?.startsWith("missing series:"));
    expect(missing.length).toBeGreaterThan(0);
    const checks = missing.flatMap((test) => test.alert_rule_test ?? []).filter((c) => c.alertname === alert);
    expect(checks.length, `no "missing series" case for ${alert}`).toBeGreaterThan(0);
    for (const check of checks) {
      expect((check.exp_alerts ?? []).length > 0, `${alert} with no series`).toBe(
        firesWithoutSeries.has(alert),
      );
    }
  });

  it.each(alerts.filter((alert) => !noFlapping.has(alert)))(
    "%s does not fire on a condition that flaps within its `for`",
    (alert) => {
      expect(quietIn("flapping"), `no "flapping" case for ${alert}`).toContain(alert);
    },
  );

  it("has a case asserting each alert quiet somewhere (below or at its line, or before its `for`)", () => {
    const quiet = new Set(
      tests
        .filter((test) => !test.name?.startsWith("missing series:") && !test.name?.startsWith("flapping:"))
        .flatMap((test) => test.alert_rule_test ?? [])
        .filter((check) => (check.exp_alerts ?? []).length === 0)
        .map((check) => check.alertname),
    );
    const without = alerts.filter((alert) => !quiet.has(alert));
    expect(without).toEqual([]);
  });
});
