import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { contractAlerts, watchdogAlert } from "../tests/support/observability/contract-alerts";
import {
  forLocalAmtool,
  run,
  runAsync,
  tools,
  withTempDir,
  withTempDirAsync,
} from "../tests/support/observability/observability-tools";
import { renderObservability } from "./render";
import type { AlertingRule, HeartbeatRule, RecordingRule } from "./types";

// Expectations below are stated here, not read from the modules under test, so a change to those
// modules that breaks the contract fails a test.
const runbookBaseUrl = "https://github.com/parley/parley/blob/main/docs/runbook.md";
const receivers = { critical: "page", warning: "ticket", info: "log-only", deadMan: "dead-mans-switch" };
const secretFiles = [
  "/etc/alertmanager/secrets/pagerduty-routing-key",
  "/etc/alertmanager/secrets/slack-tickets-webhook-url",
  "/etc/alertmanager/secrets/dead-mans-switch-url",
];
/** GitHub's anchor for a Markdown heading: lower case, spaces to dashes, other punctuation dropped. */
const anchorOf = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replaceAll(" ", "-");

// Rendered again before each test rather than once at collection, so a mutation run (npm run
// test:mutation) credits the rule code to the tests that check it.
let rendered: ReturnType<typeof renderObservability>;
let allRules: Array<AlertingRule | HeartbeatRule | RecordingRule>;
let alertingRules: Array<AlertingRule | HeartbeatRule>;
let recordingRules: RecordingRule[];
beforeEach(() => {
  rendered = renderObservability();
  allRules = rendered.rules.groups.flatMap((group) => group.rules);
  alertingRules = allRules.filter((rule): rule is AlertingRule | HeartbeatRule => "alert" in rule);
  recordingRules = allRules.filter((rule): rule is RecordingRule => "record" in rule);
});
const testsDir = join(__dirname, "alerts", "tests");
const testFiles = readdirSync(testsDir).filter((file) => file.endsWith(".test.yaml"));

describe("Prometheus rules", () => {
  it("define every alert of the contract, and only those", () => {
    expect([...new Set(alertingRules.map((rule) => rule.alert))].sort()).toEqual([...contractAlerts].sort());
  });

  it("pass promtool check rules", () => {
    const { promtool } = tools();
    withTempDir((dir) => {
      writeFileSync(join(dir, "rules.yaml"), rendered.rulesYaml);
      const result = run(promtool, ["check", "rules", "rules.yaml"], dir);
      expect(result.output).toContain(`SUCCESS: ${allRules.length} rules found`);
      expect(result.status).toBe(0);
    });
  });

  it("pass every promtool unit test in observability/alerts/tests", { timeout: 300_000 }, async () => {
    const { promtool } = tools();
    expect(testFiles.length).toBeGreaterThan(0);
    await withTempDirAsync(async (dir) => {
      writeFileSync(join(dir, "rules.yaml"), rendered.rulesYaml);
      for (const file of testFiles) copyFileSync(join(testsDir, file), join(dir, file));
      const result = await runAsync(promtool, ["test", "rules", ...testFiles], dir);
      expect(result.output, result.output).not.toContain("FAILED");
      expect(result.status, result.output).toBe(0);
    });
  });

  it("have a promtool test firing every alert and checking every recording rule's value", () => {
    const tests = testFiles.flatMap(
      (file) =>
        (
          parse(readFileSync(join(testsDir, file), "utf8")) as {
            tests: Array<{
              alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
              promql_expr_test?: Array<{ expr: string }>;
            }>;
          }
        ).tests,
    );
    const fired = new Set(
      tests.flatMap((test) =>
        (test.alert_rule_test ?? [])
          .filter((check) => (check.exp_alerts ?? []).length > 0)
          .map((check) => check.alertname),
      ),
    );
    const checkedExprs = tests.flatMap((test) => (test.promql_expr_test ?? []).map((check) => check.expr));
    for (const name of contractAlerts) expect(fired, `${name} is never tested firing`).toContain(name);
    for (const rule of recordingRules) {
      const checked = checkedExprs.some((expr) => expr.includes(`${rule.record}{slo="${rule.labels?.slo}"}`));
      expect(checked, `${rule.record} (${rule.labels?.slo}) has no value test`).toBe(true);
    }
  });

  it("page on a 14.4× burn over 1h/5m or 6× over 6h/30m, ticket on 3× over 1d/2h or 1× over 3d/6h, of each SLO's budget", () => {
    const burnAlerts = alertingRules
      .filter((rule): rule is AlertingRule => rule.alert.endsWith("BudgetBurn"))
      .map((rule) => ({ alert: rule.alert, severity: rule.labels.severity, for: rule.for, expr: rule.expr }));
    // Budgets: availability 99.9 % (0.001), latency 99 % (0.01).
    const pair = (slo: string, long: string, short: string, threshold: string) =>
      `(slo:error_ratio:rate${long}{slo="${slo}"} > ${threshold} and slo:error_ratio:rate${short}{slo="${slo}"} > ${threshold})`;
    expect(burnAlerts).toEqual([
      {
        alert: "ParleyAvailabilityBudgetBurn",
        severity: "critical",
        for: "2m",
        expr: `${pair("availability", "1h", "5m", "0.0144")}\nor\n${pair("availability", "6h", "30m", "0.006")}`,
      },
      {
        alert: "ParleyAvailabilityBudgetBurn",
        severity: "warning",
        for: "15m",
        expr: `${pair("availability", "1d", "2h", "0.003")}\nor\n${pair("availability", "3d", "6h", "0.001")}`,
      },
      {
        alert: "ParleyLatencyBudgetBurn",
        severity: "critical",
        for: "2m",
        expr: `${pair("latency", "1h", "5m", "0.144")}\nor\n${pair("latency", "6h", "30m", "0.06")}`,
      },
      {
        alert: "ParleyLatencyBudgetBurn",
        severity: "warning",
        for: "15m",
        expr: `${pair("latency", "1d", "2h", "0.03")}\nor\n${pair("latency", "3d", "6h", "0.01")}`,
      },
    ]);
  });

  it("record every error-ratio series an alert reads, over the 5m to 3d windows and the 30-day SLO window", () => {
    const recorded = new Set(recordingRules.map((rule) => `${rule.record}{slo="${rule.labels?.slo}"}`));
    const read = alertingRules.flatMap(
      (rule) => rule.expr.match(/slo:error_ratio:rate\w+\{slo="\w+"\}/g) ?? [],
    );
    // The burn-rate pairs read all seven windows of both SLOs; ParleyHighErrorRate reads 5m again.
    expect(new Set(read).size).toBe(14);
    for (const series of read) expect(recorded, `${series} is read but never recorded`).toContain(series);
    for (const slo of ["availability", "latency"]) {
      const windows = recordingRules
        .filter((rule) => rule.labels?.slo === slo && rule.record.startsWith("slo:error_ratio:rate"))
        .map((rule) => rule.record.slice("slo:error_ratio:rate".length));
      expect(windows).toEqual(["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]);
    }
  });

  it("give every alert a severity, a summary, a description quoting its value and a runbook section", () => {
    const runbook = readFileSync(join(__dirname, "..", "docs", "runbook.md"), "utf8");
    const sections = new Map(
      runbook
        .split(/^## /m)
        .slice(1)
        .map((section) => [anchorOf(section.split("\n")[0]!), section] as const),
    );
    for (const rule of alertingRules) {
      // The Watchdog's `none` keeps it out of every severity route and inhibition.
      if (rule.alert === watchdogAlert) expect(rule.labels.severity).toBe("none");
      else expect(["critical", "warning", "info"]).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description).toContain("$value");
      const [base, anchor] = rule.annotations.runbook_url.split("#");
      expect(base).toBe(runbookBaseUrl);
      const section = sections.get(anchor!);
      expect(section, `docs/runbook.md has no section for ${rule.alert}`).toBeDefined();
      for (const part of ["What it means", "How to confirm", "What to do"]) expect(section).toContain(part);
    }
  });
});

describe("Alertmanager configuration", () => {
  const configs = () => ({
    "alertmanager.yaml": forLocalAmtool(rendered.alertmanagerYaml),
    "alertmanager.local.yaml": rendered.alertmanagerLocalYaml,
  });

  const routesTest = (dir: string, name: string, receiver: string, labels: string[]) =>
    run(
      amtoolBin(),
      ["config", "routes", "test", `--config.file=${name}`, `--verify.receivers=${receiver}`, ...labels],
      dir,
    );
  const amtoolBin = () => tools().amtool;

  it.each(["alertmanager.yaml", "alertmanager.local.yaml"] as const)(
    "%s passes amtool check-config",
    (name) => {
      const { amtool } = tools();
      withTempDir((dir) => {
        writeFileSync(join(dir, name), configs()[name]);
        const result = run(amtool, ["check-config", name], dir);
        expect(result.output).toContain("SUCCESS");
        expect(result.status, result.output).toBe(0);
      });
    },
  );

  it.each([
    ["critical", "page"],
    ["warning", "ticket"],
    ["info", "log-only"],
  ])("routes severity=%s to %s in both configs (amtool config routes test)", (severity, receiver) => {
    const { amtool } = tools();
    withTempDir((dir) => {
      for (const [name, yaml] of Object.entries(configs())) {
        writeFileSync(join(dir, name), yaml);
        const routed = run(
          amtool,
          [
            "config",
            "routes",
            "test",
            `--config.file=${name}`,
            `--verify.receivers=${receiver}`,
            "alertname=ParleyHighErrorRate",
            `severity=${severity}`,
          ],
          dir,
        );
        expect(routed.status, routed.output).toBe(0);
        // And the check can fail: any other receiver is rejected.
        const wrong = run(
          amtool,
          [
            "config",
            "routes",
            "test",
            `--config.file=${name}`,
            "--verify.receivers=nobody",
            `severity=${severity}`,
          ],
          dir,
        );
        expect(wrong.status).not.toBe(0);
      }
    });
  });

  it("routes an alert without a severity to tickets", () => {
    const { amtool } = tools();
    withTempDir((dir) => {
      writeFileSync(join(dir, "am.yaml"), configs()["alertmanager.yaml"]);
      const result = run(
        amtool,
        [
          "config",
          "routes",
          "test",
          "--config.file=am.yaml",
          `--verify.receivers=${receivers.warning}`,
          "alertname=X",
        ],
        dir,
      );
      expect(result.status, result.output).toBe(0);
    });
  });

  it("inhibits a warning while the critical alert of the same name fires, and info while anything worse fires, in the same namespace", () => {
    const config = parse(rendered.alertmanagerYaml) as {
      inhibit_rules: Array<{ source_matchers: string[]; target_matchers: string[]; equal: string[] }>;
    };
    expect(config.inhibit_rules).toEqual([
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "namespace"],
      },
      {
        source_matchers: ['severity=~"critical|warning"'],
        target_matchers: ['severity="info"'],
        equal: ["namespace"],
      },
    ]);
  });

  it("sends the Watchdog to the dead man's switch only, every minute, in both configs", () => {
    withTempDir((dir) => {
      for (const [name, yaml] of Object.entries(configs())) {
        writeFileSync(join(dir, name), yaml);
        const labels = ["alertname=Watchdog", "severity=none"];
        const routed = routesTest(dir, name, receivers.deadMan, labels);
        expect(routed.status, routed.output).toBe(0);
        expect(routesTest(dir, name, receivers.warning, labels).status).not.toBe(0);
        // Even with a severity label it is never paged or ticketed.
        const paged = routesTest(dir, name, receivers.deadMan, ["alertname=Watchdog", "severity=critical"]);
        expect(paged.status, paged.output).toBe(0);
      }
    });
    const config = parse(rendered.alertmanagerYaml) as {
      route: { routes: Array<Record<string, unknown>> };
      receivers: Array<{ name: string; webhook_configs?: Array<Record<string, unknown>> }>;
    };
    expect(config.route.routes[0]).toMatchObject({
      receiver: receivers.deadMan,
      repeat_interval: "1m",
      group_interval: "1m",
    });
    const deadMan = config.receivers.find((receiver) => receiver.name === receivers.deadMan);
    expect(deadMan?.webhook_configs).toEqual([
      { url_file: "/etc/alertmanager/secrets/dead-mans-switch-url", send_resolved: false },
    ]);
  });

  it("groups pages by namespace only (one page per outage), tickets by alert name", () => {
    const config = parse(rendered.alertmanagerYaml) as {
      route: { group_by: string[]; routes: Array<{ receiver: string; group_by?: string[] }> };
    };
    const page = config.route.routes.find((route) => route.receiver === receivers.critical);
    expect(page?.group_by).toEqual(["namespace"]);
    const ticket = config.route.routes.find((route) => route.receiver === receivers.warning);
    expect(ticket?.group_by ?? config.route.group_by).toContain("alertname");
  });

  it("reads receiver secrets from mounted files and commits none", () => {
    const config = parse(rendered.alertmanagerYaml) as { receivers: Array<Record<string, unknown>> };
    const integrations = config.receivers.flatMap((receiver) =>
      Object.entries(receiver)
        .filter(([key]) => key.endsWith("_configs"))
        .flatMap(([, value]) => value as Array<Record<string, unknown>>),
    );
    expect(integrations.length).toBeGreaterThan(0);
    const secretKeys = ["routing_key", "service_key", "api_url", "url", "api_key", "auth_password", "token"];
    for (const integration of integrations) {
      for (const key of secretKeys) expect(integration).not.toHaveProperty(key);
      const files = Object.entries(integration).filter(([key]) => key.endsWith("_file"));
      expect(files.length).toBe(1);
      expect(secretFiles).toContain(files[0]![1]);
    }
    const local = parse(rendered.alertmanagerLocalYaml) as { receivers: Array<Record<string, unknown>> };
    for (const receiver of local.receivers) expect(Object.keys(receiver)).toEqual(["name"]);
  });
});
