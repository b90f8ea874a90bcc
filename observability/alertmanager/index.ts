/**
 * Alertmanager routing: critical alerts page, warnings open tickets, info stays in Alertmanager, and
 * the always-firing Watchdog goes to a dead man's switch only. A warning is inhibited while a critical
 * alert of the same name fires in the same namespace; an info alert while any warning or critical one
 * fires there. Pages are grouped by namespace: one outage raises several alerts at once (targets
 * down, no replicas, budget burn, error rate) and they arrive as one page, one incident. Secrets are
 * never in the config: receivers read them from files the deployment mounts. Routing, receivers and
 * their secrets live here; infra reads the secrets' stack keys and files from this module.
 */
import {
  deadMansSwitchReceiver,
  heartbeatInterval,
  receiverFor,
  type Severity,
  watchdogAlert,
} from "../config/alerting";

/**
 * The production receivers' secrets: the file the Alertmanager pod reads each from (mounted from a
 * Kubernetes Secret) and the stack config key it is set with (`pulumi config set --secret`).
 */
export const receiverSecrets = {
  pagerdutyRoutingKey: {
    file: "/etc/alertmanager/secrets/pagerduty-routing-key",
    stackKey: "parley:pagerdutyRoutingKey",
  },
  slackTicketsWebhookUrl: {
    file: "/etc/alertmanager/secrets/slack-tickets-webhook-url",
    stackKey: "parley:slackTicketsWebhookUrl",
  },
  deadMansSwitchUrl: {
    file: "/etc/alertmanager/secrets/dead-mans-switch-url",
    stackKey: "parley:deadMansSwitchUrl",
  },
} as const;

export type ReceiverSecret = keyof typeof receiverSecrets;

/** The receivers' secrets, one value each (a stack sets all of them or none). */
export type ReceiverSecretValues<T> = Record<ReceiverSecret, T>;

const secretNames = Object.keys(receiverSecrets) as ReceiverSecret[];

/** Files the Alertmanager pod must have. */
export const alertmanagerSecretFiles = Object.fromEntries(
  secretNames.map((name) => [name, receiverSecrets[name].file]),
) as { [Name in ReceiverSecret]: (typeof receiverSecrets)[Name]["file"] };

/** The stack config keys of the receivers' secrets: set all of them (alerts notify) or none. */
export const receiverSecretStackKeys: ReadonlyArray<(typeof receiverSecrets)[ReceiverSecret]["stackKey"]> =
  secretNames.map((name) => receiverSecrets[name].stackKey);

export { deadMansSwitchReceiver, heartbeatInterval, receiverFor };

type Receiver = { name: string } & Record<string, unknown>;

function routing(receivers: Receiver[]) {
  return {
    route: {
      receiver: receiverFor.warning,
      group_by: ["alertname", "namespace", "severity"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        {
          receiver: deadMansSwitchReceiver,
          matchers: [`alertname="${watchdogAlert}"`],
          group_by: ["alertname"],
          group_wait: "0s",
          group_interval: heartbeatInterval,
          repeat_interval: heartbeatInterval,
        },
        ...(Object.entries(receiverFor) as Array<[Severity, string]>).map(([severity, receiver]) => ({
          receiver,
          matchers: [`severity="${severity}"`],
          ...(severity === "critical"
            ? { group_by: ["namespace"], group_wait: "10s", repeat_interval: "1h" }
            : {}),
        })),
      ],
    },
    inhibit_rules: [
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
    ],
    receivers,
  };
}

/**
 * The production configuration: PagerDuty for pages, a Slack channel for tickets, a webhook for the
 * dead man's switch (its whole URL is the secret, read with `url_file`: Alertmanager 0.26+).
 */
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
    {
      name: deadMansSwitchReceiver,
      webhook_configs: [{ url_file: alertmanagerSecretFiles.deadMansSwitchUrl, send_resolved: false }],
    },
  ]);
}

/**
 * The local platform's configuration: the same routes and inhibitions with receivers that notify
 * nobody (no secret files, no network); alerts are seen in Alertmanager's UI and API.
 */
export function localAlertmanagerConfig() {
  return routing(
    [...new Set([...Object.values(receiverFor), deadMansSwitchReceiver])].map((name) => ({ name })),
  );
}
