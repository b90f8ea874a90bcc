import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderObservability } from "../render";
import { alertmanagerSecretFiles } from ".";
import { alertmanagerShipment } from "./shipment";

describe("alertmanagerShipment", () => {
  it("ships the local configuration, no secret files, and says nobody is notified when the stack has no receiver secrets", () => {
    const rendered = renderObservability();
    expect(alertmanagerShipment(rendered, undefined)).toEqual({
      config: parse(rendered.alertmanagerLocalYaml),
      secretFiles: [],
      notifies: false,
    });
  });

  it("ships the production configuration with one file per receiver secret, at the path it reads", () => {
    const rendered = renderObservability();
    const receivers = {
      pagerdutyRoutingKey: "routing-key",
      slackTicketsWebhookUrl: "https://hooks.example/t",
      deadMansSwitchUrl: "https://dms.example/ping",
    };
    expect(Object.keys(alertmanagerSecretFiles).sort()).toEqual(Object.keys(receivers).sort());
    const shipment = alertmanagerShipment(rendered, receivers);
    expect(shipment.config).toEqual(parse(rendered.alertmanagerYaml));
    expect(shipment.notifies).toBe(true);
    expect(shipment.secretFiles).toEqual([
      { path: alertmanagerSecretFiles.pagerdutyRoutingKey, value: "routing-key" },
      { path: alertmanagerSecretFiles.slackTicketsWebhookUrl, value: "https://hooks.example/t" },
      { path: alertmanagerSecretFiles.deadMansSwitchUrl, value: "https://dms.example/ping" },
    ]);
    // The production config reads each secret from exactly the file shipped for it.
    const yaml = rendered.alertmanagerYaml;
    for (const { path } of shipment.secretFiles) expect(yaml).toContain(path);
  });
});
