/** The shapes of a Prometheus rule file, as the rules and alerts are written and rendered. */
import type { Severity, watchdogAlert } from "./config/alerting";

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: Severity } & Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

/** The always-firing Watchdog: its `severity` is `none`, so no severity route or inhibition applies. */
export interface HeartbeatRule {
  alert: typeof watchdogAlert;
  expr: "vector(1)";
  labels: { severity: "none" };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  /** Evaluation interval of the group; Prometheus's global one when unset. */
  interval?: string;
  rules: Array<RecordingRule | AlertingRule | HeartbeatRule>;
}

export interface RuleFile {
  groups: RuleGroup[];
}
