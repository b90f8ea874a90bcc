/**
 * The Parley policy pack's policies, grouped by area. Side-effect free: importing this module
 * declares no PolicyPack (index.ts does, once per process), so tests and the offline gate can
 * load it freely.
 */
import type { PolicyPackArgs } from "@pulumi/policy";
import { eksPolicies } from "./aws/eks";
import { elasticachePolicies } from "./aws/elasticache";
import { kmsPolicies } from "./aws/kms";
import { networkPolicies } from "./aws/network";
import { rdsPolicies } from "./aws/rds";
import { tagPolicies } from "./aws/tags";
import { rulesetPolicies } from "./cloudflare/rulesets";
import { zonePolicies } from "./cloudflare/zone";
import { autoscalingPolicies } from "./kubernetes/autoscaling";
import { connectionPolicies } from "./kubernetes/connections";
import { servicePolicies } from "./kubernetes/services";
import { workloadPolicies } from "./kubernetes/workloads";
import { scalingInvariants } from "./stack/scaling";
import { azSpread } from "./stack/zones";

export const packName = "parley-policies";

export const parleyPolicies: PolicyPackArgs["policies"] = [
  ...rdsPolicies,
  ...elasticachePolicies,
  ...eksPolicies,
  ...networkPolicies,
  ...kmsPolicies,
  ...tagPolicies,
  ...workloadPolicies,
  ...autoscalingPolicies,
  ...servicePolicies,
  ...connectionPolicies,
  ...zonePolicies,
  ...rulesetPolicies,
  azSpread,
  scalingInvariants,
];

/** Every policy sets its own level; the pack default only covers a policy that forgets to. */
export const packArgs: PolicyPackArgs = {
  description:
    "Parley's guard rails: AWS data stores and cluster, Kubernetes workloads, Cloudflare edge, scaling.",
  enforcementLevel: "advisory",
  policies: parleyPolicies,
};
