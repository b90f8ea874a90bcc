/**
 * Security groups: nothing admits the whole internet except the public listener's ports. The three
 * ways to write an ingress rule (inline on the group, aws.ec2.SecurityGroupRule and
 * aws.vpc.SecurityGroupIngressRule) are all checked.
 */
import * as aws from "@pulumi/aws";
import { type ReportViolation, type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

export const worldCidrs = ["0.0.0.0/0", "::/0"];

export interface WorldIngressConfig {
  publicListenerPorts: number[];
}

interface IngressRule {
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
}

function checkIngress(rule: IngressRule, config: WorldIngressConfig, reportViolation: ReportViolation): void {
  const open = rule.cidrs.filter((cidr) => worldCidrs.includes(cidr));
  if (open.length === 0) return;
  const from = rule.fromPort ?? 0;
  const to = rule.toPort ?? 65535;
  const isListener = from === to && config.publicListenerPorts.includes(from);
  if (!isListener) {
    const ports = from === to ? `port ${from}` : `ports ${from}-${to}`;
    reportViolation(`Ingress on ${ports} is open to ${open.join(", ")}.`);
  }
}

export const noWorldIngress: ResourceValidationPolicy = {
  name: "security-group-no-world-ingress",
  description: "No security group admits 0.0.0.0/0 or ::/0, except on the public listener's ports.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      publicListenerPorts: { type: "array", items: { type: "integer" }, default: [443] },
    },
  },
  validateResource: [
    validateResourceOfType(aws.ec2.SecurityGroup, (group, args, reportViolation) => {
      const config = args.getConfig<WorldIngressConfig>();
      for (const rule of group.ingress ?? []) {
        const cidrs = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
        checkIngress({ fromPort: rule.fromPort, toPort: rule.toPort, cidrs }, config, reportViolation);
      }
    }),
    validateResourceOfType(aws.ec2.SecurityGroupRule, (rule, args, reportViolation) => {
      if (rule.type !== "ingress") return;
      const cidrs = [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? [])];
      checkIngress(
        { fromPort: rule.fromPort, toPort: rule.toPort, cidrs },
        args.getConfig(),
        reportViolation,
      );
    }),
    validateResourceOfType(aws.vpc.SecurityGroupIngressRule, (rule, args, reportViolation) => {
      const cidrs = [rule.cidrIpv4, rule.cidrIpv6].filter((cidr): cidr is string => Boolean(cidr));
      checkIngress(
        { fromPort: rule.fromPort, toPort: rule.toPort, cidrs },
        args.getConfig(),
        reportViolation,
      );
    }),
  ],
};

export const networkPolicies = [noWorldIngress];
