/**
 * Which rendered Alertmanager configuration the cluster runs: the production one (PagerDuty pages,
 * Slack tickets) with its receivers' secrets as files, or — when the stack has no receiver secrets —
 * the local one (same routes, receivers that notify nobody).
 */
import type * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { alertmanagerSecretFiles } from "../../../alerts/alertmanager";
import type { Observability } from "../../../alerts/render";
import type { AlertReceiverSecrets } from "../../config";
import type { SecretFile } from "../cluster-services/alertmanager-secrets";

export interface AlertmanagerShipment {
  config: Record<string, unknown>;
  secretFiles: SecretFile<pulumi.Input<string>>[];
  notifies: boolean;
}

export function alertmanagerShipment(
  rendered: Pick<Observability, "alertmanagerYaml" | "alertmanagerLocalYaml">,
  receivers: AlertReceiverSecrets | undefined,
): AlertmanagerShipment {
  if (!receivers) return { config: parse(rendered.alertmanagerLocalYaml), secretFiles: [], notifies: false };
  const values: Record<keyof typeof alertmanagerSecretFiles, pulumi.Input<string>> = receivers;
  return {
    config: parse(rendered.alertmanagerYaml),
    secretFiles: (Object.keys(alertmanagerSecretFiles) as Array<keyof typeof alertmanagerSecretFiles>).map(
      (key) => ({
        path: alertmanagerSecretFiles[key],
        value: values[key],
      }),
    ),
    notifies: true,
  };
}
