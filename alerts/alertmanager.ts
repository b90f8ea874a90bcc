/**
 * Alertmanager routing: critical alerts page, warnings open tickets, info stays in Alertmanager; a
 * warning is inhibited while a critical alert of the same name fires in the same namespace. Secrets
 * are never in the config: receivers read them from files the deployment mounts.
 */
import type { Severity } from "./rules";

/** Files the Alertmanager pod must have (mounted from a Kubernetes Secret). */
export const alertmanagerSecretFiles = {
  pagerdutyRoutingKey: "/etc/alertmanager/secrets/pagerduty-routing-key",
  slackTicketsWebhookUrl: "/etc/alertmanager/secrets/slack-tickets-webhook-url",
} as const;

export const receiverFor: Record<Severity, string> = {
  critical: "page",
  warning: "ticket",
  info: "log-only",
};

type Receiver = { name: string } & Record<string, unknown>;

function routing(receivers: Receiver[]) {
  return {
    route: {
      receiver: receiverFor.warning,
      group_by: ["alertname", "namespace", "severity"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: (Object.entries(receiverFor) as Array<[Severity, string]>).map(([severity, receiver]) => ({
        receiver,
        matchers: [`severity="${severity}"`],
        ...(severity === "critical" ? { group_wait: "10s", repeat_interval: "1h" } : {}),
      })),
    },
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "namespace"],
      },
    ],
    receivers,
  };
}

/** The production configuration: PagerDuty for pages, a Slack channel for tickets. */
export function alertmanagerConfig() {
  return routing([
    {
      name: receiverFor.critical,
      pagerduty_configs: [
        { routing_key_file: alertmanagerSecretFiles.pagerdutyRoutingKey, send_resolved: true },
      ],
    },
    {
      name: receiverFor.warning,
      slack_configs: [
        {
          api_url_file: alertmanagerSecretFiles.slackTicketsWebhookUrl,
          channel: "#parley-tickets",
          send_resolved: true,
          title: "{{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})",
          text: "{{ range .Alerts }}{{ .Annotations.description }}\n{{ .Annotations.runbook_url }}\n{{ end }}",
        },
      ],
    },
    { name: receiverFor.info },
  ]);
}

/**
 * The local platform's configuration: the same routes and inhibitions with receivers that notify
 * nobody (no secret files, no network); alerts are seen in Alertmanager's UI and API.
 */
export function localAlertmanagerConfig() {
  return routing([...new Set(Object.values(receiverFor))].map((name) => ({ name })));
}
