/**
 * The AWS side of the AWS Load Balancer Controller: its Pod Identity role with upstream's IAM policy
 * (infra/data/aws-load-balancer-controller-3.5.0/iam_policy.json, unmodified).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../contracts/stacks";
import { ServiceIdentity } from "./service-identity";

export const loadBalancerControllerPolicyPath = path.join(
  __dirname,
  "..",
  "data",
  "aws-load-balancer-controller-3.5.0",
  "iam_policy.json",
);

export interface LoadBalancerControllerAwsArgs {
  stack: StackName;
  clusterName: pulumi.Input<string>;
  /** Where the controller runs (must match its Helm release). */
  controller: { namespace: string; serviceAccount: string };
}

export class LoadBalancerControllerAws extends ServiceIdentity {
  constructor(name: string, args: LoadBalancerControllerAwsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      name,
      {
        stack: args.stack,
        identity: "lb-controller",
        clusterName: args.clusterName,
        namespace: args.controller.namespace,
        serviceAccount: args.controller.serviceAccount,
        policies: { policy: readFileSync(loadBalancerControllerPolicyPath, "utf8") },
      },
      opts,
    );
  }
}
