/**
 * Live check of the rendered observability: a Prometheus of this file's own (loaded with the rendered
 * rules, evaluating every second) scrapes the real app under a short bounded load; every dashboard
 * query and rule expression runs, and those that depend only on app metrics return data. End to end:
 * Redis (this file's own, never the shared one) is stopped under traffic, ParleyCircuitOpen fires in
 * Prometheus and reaches Alertmanager, and resolves once Redis is back.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { type ParleyHandle, startParley } from "../app/src/main";
import { scrapeJob } from "../contracts/metrics";
import {
  freePort,
  queryPrometheus,
  startAlertmanager,
  startPrometheus,
  startRedis,
} from "../scripts/platform";
import type { AlertmanagerServer, PrometheusServer } from "../scripts/platform/prometheus";
import type { RedisServer } from "../scripts/platform/redis";
import { sleep, waitFor } from "../scripts/platform/steps";
import {
  api,
  createChatbot,
  createConversation,
  postMessageStream,
  registerTenant,
  type Tenant,
  testConfig,
} from "../tests/support/app/harness";
import { substituteGrafanaVariables } from "../tests/support/observability/observability-tools";
import { platform } from "../tests/support/platform";
import { symptomAlerts } from "./alerts/symptoms";
import { dashboardSpecs } from "./dashboards";
import { deployAnnotationExpr } from "./dashboards/panels";
import { observabilityFiles, writeObservability } from "./render";
import { sloRecordingRules, sloWindowRules } from "./rules/slo";
import type { RuleFile } from "./types";

/**
 * Queries on Kubernetes or node metrics (kube-state-metrics, cAdvisor, node-exporter) or on the data
 * stores' exporters have no data locally.
 */
const dependsOnlyOnApp = (expr: string) => !/\b(kube|container|node|pg|redis|aws)_\w+/.test(expr);

/**
 * The rule file with every group at Prometheus's global interval: the 30-day group's own interval
 * (minutes) would leave its series empty for the short life of this Prometheus.
 */
function withGlobalIntervals(rulesFile: string): void {
  const rules = parse(readFileSync(rulesFile, "utf8")) as RuleFile;
  for (const group of rules.groups) delete group.interval;
  writeFileSync(rulesFile, stringify(rules, { lineWidth: 0 }));
}

interface LiveQuery {
  what: string;
  expr: string;
  /** False when an empty result is legitimate here (no Kubernetes, or an event that did not happen). */
  expectData: boolean;
}

function liveQueries(): LiveQuery[] {
  const dashboards = dashboardSpecs().flatMap((dashboard) =>
    dashboard.rows.flatMap((row) =>
      row.panels.flatMap((panel) =>
        panel.queries.map((query) => ({
          what: `${dashboard.uid} / ${panel.title}`,
          expr: substituteGrafanaVariables(query.expr),
          expectData: dependsOnlyOnApp(query.expr) && !query.onlyAfter,
        })),
      ),
    ),
  );
  const recorded = [...sloRecordingRules(), ...sloWindowRules()].map((rule) => ({
    what: `recording rule ${rule.record}{slo="${rule.labels?.slo}"}`,
    expr: rule.expr,
    expectData: true,
  }));
  const measured = symptomAlerts.map((alert) => ({
    what: `${alert.alert} (${alert.severity}) measure`,
    expr: alert.measure,
    expectData: dependsOnlyOnApp(alert.measure),
  }));
  // The app started minutes ago: its build is new, so the deploy marker has data.
  const deploys = {
    what: "deploy annotation",
    expr: substituteGrafanaVariables(deployAnnotationExpr),
    expectData: true,
  };
  return [...dashboards, deploys, ...recorded, ...measured];
}

interface PrometheusAlert {
  labels: Record<string, string>;
  state: string;
}

async function prometheusAlerts(url: string, name: string): Promise<PrometheusAlert[]> {
  const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as {
    data: { alerts: PrometheusAlert[] };
  };
  return body.data.alerts.filter((alert) => alert.labels.alertname === name);
}

interface AlertmanagerAlert {
  labels: Record<string, string>;
  endsAt: string;
  status: { state: string; inhibitedBy: string[] };
}

async function alertmanagerAlerts(url: string, filter: string): Promise<AlertmanagerAlert[]> {
  const response = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent(filter)}`);
  return (await response.json()) as AlertmanagerAlert[];
}

const stillActive = (alert: AlertmanagerAlert) => Date.parse(alert.endsAt) > Date.now();

/** One user's session: reads, identical prompts (cache hits), a streamed reply, a 404. */
async function session(base: string, tenant: Tenant, chatbotId: string, round: number): Promise<void> {
  const { token } = tenant;
  const conversation = await createConversation(base, token, chatbotId, `Load ${round}`);
  for (const content of ["What are your opening hours?", "What are your opening hours?", `Round ${round}`]) {
    const sent = await api(base, "POST", `/api/conversations/${conversation.id}/messages`, {
      token,
      body: { content },
    });
    if (sent.status !== 201) throw new Error(`message failed: ${sent.status} ${JSON.stringify(sent.body)}`);
  }
  const streamed = await postMessageStream(base, token, conversation.id, "How much does the team plan cost?");
  await streamed.text();
  await api(base, "GET", `/api/conversations/${conversation.id}/messages?limit=10`, { token });
  await api(base, "GET", "/api/conversations", { token });
  await api(base, "GET", "/api/chatbots", { token });
  await api(base, "GET", `/api/chatbots/${chatbotId}`, { token });
  await api(base, "GET", "/api/analytics/dashboard?days=7", { token });
  await api(base, "GET", "/api/no-such-route", { token });
}

describe("observability, live against the real app", () => {
  const stateDir = join(platform().stateDir, `observability-live-${process.pid}`);
  const { binaries } = platform();
  let redis: RedisServer;
  let app: ParleyHandle;
  let prometheus: PrometheusServer;
  let alertmanager: AlertmanagerServer;
  let tenant: Tenant;
  let chatbotId: string;

  beforeAll(async () => {
    mkdirSync(stateDir, { recursive: true });
    const outDir = join(stateDir, "rendered");
    writeObservability(outDir);
    withGlobalIntervals(join(outDir, observabilityFiles.rules));
    redis = await startRedis({ bin: binaries.redisServer, stateDir, port: await freePort() });
    alertmanager = await startAlertmanager({
      bin: binaries.alertmanager,
      stateDir,
      port: await freePort(),
      configFile: join(outDir, observabilityFiles.alertmanagerLocal),
    });
    const { config } = await testConfig("observability");
    app = await startParley({ ...config, redisUrl: redis.url }, { log: pino({ level: "silent" }) });
    prometheus = await startPrometheus({
      bin: binaries.prometheus,
      stateDir,
      port: await freePort(),
      ruleFiles: [join(outDir, observabilityFiles.rules)],
      jobs: { [scrapeJob]: [`127.0.0.1:${app.port}`] },
      alertmanagerPort: alertmanager.port,
      scrapeIntervalSeconds: 1,
    });
    tenant = await registerTenant(app.url);
    chatbotId = (await createChatbot(app.url, tenant.token)).id;
    // A short bounded load: 3 concurrent users, 4 sessions each.
    await Promise.all(
      [0, 1, 2].map(async (user) => {
        for (let round = 0; round < 4; round++) await session(app.url, tenant, chatbotId, user * 10 + round);
      }),
    );
    // Keep the load going until Prometheus has scraped it rising and evaluated the SLO rules on it:
    // a counter first scraped after all its requests looks flat (a rate of 0, an SLI of 0/0).
    let round = 50;
    await waitFor(
      "the SLO recording rules to be evaluated on scraped app data",
      async () => {
        await session(app.url, tenant, chatbotId, round++);
        const recorded = await queryPrometheus(
          prometheus.url,
          'slo:error_ratio:rate5m{slo=~"availability|latency"}',
        );
        const window = await queryPrometheus(
          prometheus.url,
          'slo:error_ratio:rate30d{slo=~"availability|latency"}',
        );
        return [...recorded, ...window].filter((sample) => Number.isFinite(Number(sample.value[1])))
          .length === 4
          ? true
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    for (const server of [prometheus, alertmanager, redis]) await server?.process.stop();
  });

  it("runs every dashboard query and rule expression; those on app metrics return data", async () => {
    const queries = liveQueries();
    expect(queries.filter((query) => query.expectData).length).toBeGreaterThan(40);
    const failures: string[] = [];
    for (const query of queries) {
      try {
        const result = await queryPrometheus(prometheus.url, query.expr);
        if (query.expectData && result.length === 0)
          failures.push(`${query.what}: no data for ${query.expr}`);
      } catch (error) {
        failures.push(`${query.what}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    // Prometheus itself found no broken rule.
    const rules = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    const unhealthy = rules.data.groups
      .flatMap((group) => group.rules)
      .filter((rule) => rule.health !== "ok");
    expect(unhealthy).toEqual([]);
  });

  it("measures the SLIs from the load: no 5xx, and the latency SLI leaves streamed replies out", async () => {
    const availability = await queryPrometheus(prometheus.url, 'slo:error_ratio:rate5m{slo="availability"}');
    expect(availability.map((sample) => Number(sample.value[1]))).toEqual([0]);
    const streamed = await queryPrometheus(
      prometheus.url,
      'parley_http_request_duration_seconds_count{route="/api/conversations/:id/messages", method="POST", status_code="200"}',
    );
    expect(streamed.length).toBe(1);
  });

  it("fires ParleyCircuitOpen into Alertmanager while Redis is down, and resolves it when Redis is back", {
    timeout: 420_000,
  }, async () => {
    let traffic = true;
    const background = (async () => {
      let round = 100;
      while (traffic) {
        await session(app.url, tenant, chatbotId, round++).catch(() => undefined);
        await sleep(200);
      }
    })();
    try {
      await redis.process.stop();
      const firing = await waitFor(
        // The breaker must stay unclosed for the alert's window (2m) and `for` (1m).
        "ParleyCircuitOpen{dependency=redis} to fire in Prometheus",
        async () => {
          const alerts = await prometheusAlerts(prometheus.url, "ParleyCircuitOpen");
          return alerts.find((alert) => alert.state === "firing" && alert.labels.dependency === "redis");
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      expect(firing.labels.severity).toBe("warning");
      const received = await waitFor(
        "ParleyCircuitOpen to arrive in Alertmanager",
        async () =>
          (await alertmanagerAlerts(alertmanager.url, 'alertname="ParleyCircuitOpen"')).find(
            (alert) => alert.labels.dependency === "redis" && stillActive(alert),
          ),
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      expect(received.status.state).toBe("active");

      redis = await startRedis({ bin: binaries.redisServer, stateDir, port: redis.port });
      await waitFor(
        "ParleyCircuitOpen to resolve in Prometheus",
        async () =>
          (await prometheusAlerts(prometheus.url, "ParleyCircuitOpen")).length === 0 ? true : undefined,
        { timeoutMs: 60_000, intervalMs: 1_000 },
      );
      await waitFor(
        "ParleyCircuitOpen to resolve in Alertmanager",
        async () =>
          (await alertmanagerAlerts(alertmanager.url, 'alertname="ParleyCircuitOpen"')).some(stillActive)
            ? undefined
            : true,
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const state = await queryPrometheus(prometheus.url, 'parley_circuit_state{dependency="redis"}');
      expect(state.map((sample) => sample.value[1])).toEqual(["0"]);
    } finally {
      traffic = false;
      await background;
    }
  });

  it("inhibits a warning while the critical alert of the same name fires, and info while anything worse fires", async () => {
    const alert = (alertname: string, severity: string, namespace: string, instance: string) => ({
      labels: { alertname, severity, namespace, instance },
      annotations: { summary: "inhibition check" },
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert("ParleyTargetDown", "critical", "inhibit-a", ""),
        alert("ParleyTargetDown", "warning", "inhibit-a", "a:3000"),
        alert("ParleyTargetDown", "warning", "inhibit-b", "b:3000"),
        alert("InhibitionCheckInfo", "info", "inhibit-b", ""),
        alert("InhibitionCheckInfo", "info", "inhibit-c", ""),
      ]),
    });
    expect(posted.status).toBe(200);
    const expected = {
      "inhibit-a/critical": "active",
      "inhibit-a/warning": "suppressed",
      "inhibit-b/warning": "active",
      "inhibit-b/info": "suppressed",
      "inhibit-c/info": "active",
    };
    // Alertmanager's inhibitor learns of source alerts from its own subscription to the alert store
    // (inhibit/inhibit.go, Inhibitor.run), so a target can read "active" for a moment after it was
    // processed, before the inhibiting alert reaches that cache: poll for the expected states and show
    // the last ones read if they never come.
    let states: Record<string, string> = {};
    await waitFor(
      "Alertmanager to apply the inhibitions to the posted alerts",
      async () => {
        const alerts = await alertmanagerAlerts(alertmanager.url, 'namespace=~"inhibit-.*"');
        states = Object.fromEntries(
          alerts.map((a) => [`${a.labels.namespace}/${a.labels.severity}`, a.status.state] as const),
        );
        return Object.keys(states).length === 5 &&
          Object.entries(expected).every(([key, state]) => states[key] === state)
          ? states
          : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    ).catch(() => undefined);
    expect(states).toEqual(expected);
  });

  it("groups the pages of one namespace into one notification, whatever their names", async () => {
    const alert = (alertname: string, namespace: string) => ({
      labels: { alertname, severity: "critical", namespace },
      annotations: { summary: "grouping check" },
      startsAt: new Date().toISOString(),
      endsAt: new Date(Date.now() + 5 * 60_000).toISOString(),
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert("ParleyTargetDown", "incident-a"),
        alert("ParleyNoReplicasAvailable", "incident-a"),
        alert("ParleyAvailabilityBudgetBurn", "incident-a"),
        alert("ParleyTargetDown", "incident-b"),
      ]),
    });
    expect(posted.status).toBe(200);
    interface Group {
      labels: Record<string, string>;
      receiver: { name: string };
      alerts: AlertmanagerAlert[];
    }
    const groups = await waitFor(
      "Alertmanager to group the posted pages",
      async () => {
        const response = await fetch(
          `${alertmanager.url}/api/v2/alerts/groups?filter=${encodeURIComponent('namespace=~"incident-.*"')}`,
        );
        const all = (await response.json()) as Group[];
        return all.reduce((count, group) => count + group.alerts.length, 0) === 4 ? all : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const summary = groups
      .map((group) => ({
        receiver: group.receiver.name,
        labels: group.labels,
        alerts: group.alerts.map((a) => a.labels.alertname).sort(),
      }))
      .sort((x, y) => x.labels.namespace!.localeCompare(y.labels.namespace!));
    expect(summary).toEqual([
      {
        receiver: "page",
        labels: { namespace: "incident-a" },
        alerts: ["ParleyAvailabilityBudgetBurn", "ParleyNoReplicasAvailable", "ParleyTargetDown"],
      },
      { receiver: "page", labels: { namespace: "incident-b" }, alerts: ["ParleyTargetDown"] },
    ]);
  });
});
