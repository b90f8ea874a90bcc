/** The heartbeat: proves alerting works end to end (see `watchdogAlert`). */
import { watchdogAlert } from "../config/alerting";
import { runbookUrl } from "../config/runbook";
import type { HeartbeatRule, RuleGroup } from "../types";

export function watchdogRule(): HeartbeatRule {
  return {
    alert: watchdogAlert,
    expr: "vector(1)",
    labels: { severity: "none" },
    annotations: {
      summary: "Alerting works: this alert always fires.",
      description:
        "Always firing (value {{ $value }}) so the dead man's switch receives it; when the switch stops hearing it, Prometheus or Alertmanager is down.",
      runbook_url: runbookUrl(watchdogAlert),
    },
  };
}

export function watchdogRules(): RuleGroup {
  return { name: "parley-meta", rules: [watchdogRule()] };
}
