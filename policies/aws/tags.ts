/**
 * Required tags on taggable AWS resources, so cost and ownership can be traced per stack and
 * component. Tags set as the AWS provider's defaultTags count too: the provider merges them in.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";

/** AWS resource types that accept `tags` and that the program declares (or may declare). */
export const taggableTypes = new Set([
  "aws:acm/certificate:Certificate",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
  "aws:ec2/eip:Eip",
  "aws:ec2/flowLog:FlowLog",
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/launchTemplate:LaunchTemplate",
  "aws:ec2/natGateway:NatGateway",
  "aws:ec2/routeTable:RouteTable",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/vpc:Vpc",
  "aws:ec2/vpcEndpoint:VpcEndpoint",
  "aws:ecr/repository:Repository",
  "aws:eks/accessEntry:AccessEntry",
  "aws:eks/addon:Addon",
  "aws:eks/cluster:Cluster",
  "aws:eks/nodeGroup:NodeGroup",
  "aws:eks/podIdentityAssociation:PodIdentityAssociation",
  "aws:elasticache/parameterGroup:ParameterGroup",
  "aws:elasticache/replicationGroup:ReplicationGroup",
  "aws:elasticache/subnetGroup:SubnetGroup",
  "aws:iam/policy:Policy",
  "aws:iam/role:Role",
  "aws:kms/key:Key",
  "aws:rds/instance:Instance",
  "aws:rds/parameterGroup:ParameterGroup",
  "aws:rds/subnetGroup:SubnetGroup",
  "aws:route53/zone:Zone",
  "aws:secretsmanager/secret:Secret",
  "aws:sqs/queue:Queue",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
]);

export interface RequiredTagsConfig {
  requiredTags: string[];
}

function tagKeys(args: ResourceValidationArgs): Set<string> {
  const own = Object.keys(args.props.tags ?? {});
  const defaults = Object.keys(args.provider?.props.defaultTags?.tags ?? {});
  return new Set([...own, ...defaults]);
}

export const requiredTags: ResourceValidationPolicy = {
  name: "aws-required-tags",
  description: "Taggable AWS resources carry the project's required tags.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      requiredTags: {
        type: "array",
        items: { type: "string" },
        default: ["project", "stack", "component", "managed-by"],
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!taggableTypes.has(args.type))
      args.notApplicable(`${args.type} is not in the list of taggable types.`);
    const present = tagKeys(args);
    const missing = args.getConfig<RequiredTagsConfig>().requiredTags.filter((tag) => !present.has(tag));
    if (missing.length > 0) reportViolation(`Missing tags: ${missing.join(", ")}.`);
  },
};

export const tagPolicies = [requiredTags];
