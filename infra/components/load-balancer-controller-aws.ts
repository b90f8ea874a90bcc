/**
 * The AWS side of the AWS Load Balancer Controller: upstream's IAM policy for its Pod Identity role
 * (infra/data/aws-load-balancer-controller-3.5.0/iam_policy.json, unmodified).
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const loadBalancerControllerPolicyPath = path.join(
  __dirname,
  "..",
  "data",
  "aws-load-balancer-controller-3.5.0",
  "iam_policy.json",
);

export const loadBalancerControllerPolicy = () => readFileSync(loadBalancerControllerPolicyPath, "utf8");
