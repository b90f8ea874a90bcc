/**
 * The Parley Pulumi program: composition only. Each concern is one ComponentResource under
 * infra/components/; the stack config is validated before anything is declared, and capacity
 * numbers come from the scaling policy (infra/scaling/).
 *
 * The module exports one async function (Pulumi's nodejs runtime calls it; its result is the stack's
 * outputs), so nothing runs at import time and ESM-only packages can be loaded with `await import()`.
 */

import { Network } from "./components/network";
import { loadStackConfig } from "./config";
import { resourceName } from "./naming";

async function main() {
  const config = loadStackConfig();
  const { stack } = config;
  const clusterName = resourceName(stack);

  const network = new Network(resourceName(stack, "network"), {
    stack,
    vpcCidr: config.vpcCidr,
    availabilityZones: config.availabilityZones,
    natGateways: config.natGateways,
    clusterName,
    logRetentionDays: config.logRetentionDays,
  });

  return {
    vpcId: network.vpcId,
  };
}

export = main;
