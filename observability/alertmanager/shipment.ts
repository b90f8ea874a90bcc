/**
 * Which rendered Alertmanager configuration the cluster runs: the production one (PagerDuty pages,
 * Slack tickets) with its receivers' secrets as files, or — when the stack has no receiver secrets —
 * the local one (same routes, receivers that notify nobody).
 */
import { parse } from "yaml";
import type { Observability } from "../render";
import { alertmanagerSecretFiles, type ReceiverSecret, type ReceiverSecretValues } from ".";

/** A file the Alertmanager config reads a receiver's secret from, and the secret's value. */
export interface SecretFile<T> {
  /** Absolute path the Alertmanager config reads. */
  path: string;
  value: T;
}

export interface AlertmanagerShipment<T> {
  config: Record<string, unknown>;
  secretFiles: SecretFile<T>[];
  notifies: boolean;
}

export function alertmanagerShipment<T>(
  rendered: Pick<Observability, "alertmanagerYaml" | "alertmanagerLocalYaml">,
  receivers: ReceiverSecretValues<T> | undefined,
): AlertmanagerShipment<T> {
  if (!receivers) return { config: parse(rendered.alertmanagerLocalYaml), secretFiles: [], notifies: false };
  return {
    config: parse(rendered.alertmanagerYaml),
    secretFiles: (Object.keys(alertmanagerSecretFiles) as ReceiverSecret[]).map((key) => ({
      path: alertmanagerSecretFiles[key],
      value: receivers[key],
    })),
    notifies: true,
  };
}
