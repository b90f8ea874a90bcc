/**
 * The AWS side of Karpenter, declared from Karpenter's own getting-started CloudFormation template
 * (infra/data/karpenter-1.14.1/cloudformation.yaml, unmodified): the node role and its access entry,
 * the controller's IAM policies (on a Pod Identity role), the interruption queue and the EventBridge
 * rules that feed it. Reading the template instead of retyping it keeps the permissions exactly
 * upstream's; an upgrade is a new file.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml, type ScalarTag } from "yaml";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType } from "../naming";
import { ServiceIdentity } from "./service-identity";

/** The tag Karpenter selects subnets and security groups by (EC2NodeClass selector terms). */
export function karpenterDiscoveryTags(clusterName: string): Record<string, string> {
  return { "karpenter.sh/discovery": clusterName };
}

export const karpenterTemplatePath = path.join(
  __dirname,
  "..",
  "data",
  "karpenter-1.14.1",
  "cloudformation.yaml",
);

interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

const intrinsic = (name: string): ScalarTag => ({
  tag: `!${name}`,
  resolve: (value: string) => ({ [name === "Ref" ? "Ref" : `Fn::${name}`]: value }),
});

export function loadKarpenterTemplate(file = karpenterTemplatePath): CfnTemplate {
  return parseYaml(readFileSync(file, "utf8"), {
    customTags: [intrinsic("Sub"), intrinsic("GetAtt"), intrinsic("Ref")],
  }) as CfnTemplate;
}

/**
 * Resolves the template's intrinsics (`Fn::Sub`, `Fn::GetAtt`, `Ref`) against known values. An
 * unknown variable throws: an upstream template that needs something new must not deploy half-resolved.
 */
export function resolveIntrinsics(value: unknown, variables: Record<string, string>): unknown {
  const lookup = (name: string) => {
    const resolved = variables[name];
    if (resolved === undefined) {
      throw new Error(`the Karpenter template refers to \${${name}}, which the program does not provide`);
    }
    return resolved;
  };
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, variables));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record["Fn::Sub"] === "string") {
      return record["Fn::Sub"].replace(/\$\{([^}]+)\}/g, (_match, name: string) => lookup(name));
    }
    if (typeof record["Fn::GetAtt"] === "string") return lookup(record["Fn::GetAtt"]);
    if (typeof record.Ref === "string") return lookup(record.Ref);
    return Object.fromEntries(
      Object.entries(record).map(([key, inner]) => [key, resolveIntrinsics(inner, variables)]),
    );
  }
  return value;
}

function resourcesOfType(template: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export interface KarpenterAwsArgs {
  stack: StackName;
  clusterName: pulumi.Input<string>;
  region: string;
  /** Where the controller runs (must match its Helm release). */
  controller: { namespace: string; serviceAccount: string };
  /**
   * Create `AWSServiceRoleForEC2Spot`: EC2 needs it before the first Spot launch, and a role without
   * `iam:CreateServiceLinkedRole` (Karpenter's controller) fails with
   * AuthFailure.ServiceLinkedRoleCreationNotPermitted. Karpenter's getting-started guide creates it
   * with `aws iam create-service-linked-role --aws-service-name spot.amazonaws.com`. One per account:
   * false when the account already has it (another stack in the account, or the console made it).
   */
  createSpotServiceLinkedRole: boolean;
}

/** The service that owns the Spot service-linked role (its name is AWSServiceRoleForEC2Spot). */
export const spotServiceName = "spot.amazonaws.com";

export class KarpenterAws extends pulumi.ComponentResource {
  /** The role Karpenter's nodes get (EC2NodeClass `role`). */
  readonly nodeRoleName: pulumi.Output<string>;
  readonly nodeRoleArn: pulumi.Output<string>;
  readonly controllerRoleArn: pulumi.Output<string>;
  readonly interruptionQueueName: pulumi.Output<string>;
  /** Tags on the private subnets and the cluster security group that Karpenter's EC2NodeClass selects. */
  readonly discoveryTags: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: KarpenterAwsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("KarpenterAws"), name, {}, opts);
    const n = componentNaming(name, args.stack, "karpenter");
    const parent = { parent: this };
    const template = loadKarpenterTemplate();
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent);
    const staticVariables = pulumi
      .all([args.clusterName, account, partition.partition, partition.dnsSuffix])
      .apply(([clusterName, accountId, partitionName, urlSuffix]) => ({
        ClusterName: clusterName,
        "AWS::AccountId": accountId,
        "AWS::Partition": partitionName,
        "AWS::Region": args.region,
        "AWS::URLSuffix": urlSuffix,
      }));

    const [[, nodeRoleDefinition]] = resourcesOfType(template, "AWS::IAM::Role");
    const nodeRoleProperties = staticVariables.apply(
      (variables) => resolveIntrinsics(nodeRoleDefinition.Properties, variables) as Record<string, unknown>,
    );
    const nodeRole = new aws.iam.Role(
      n.name("node-role"),
      {
        assumeRolePolicy: nodeRoleProperties.apply((properties) =>
          JSON.stringify(properties.AssumeRolePolicyDocument),
        ),
        description: "Role of the nodes Karpenter launches",
        tags: n.tags(),
      },
      parent,
    );
    const managedPolicyArns = nodeRoleDefinition.Properties.ManagedPolicyArns as unknown[];
    managedPolicyArns.forEach((_policy, index) => {
      new aws.iam.RolePolicyAttachment(
        n.name("node-role-policy", String(index)),
        {
          role: nodeRole.name,
          policyArn: nodeRoleProperties.apply((p) => (p.ManagedPolicyArns as string[])[index]),
        },
        parent,
      );
    });
    // Nodes join the cluster through an access entry for their role (the cluster uses API authentication).
    new aws.eks.AccessEntry(
      n.name("node-access"),
      { clusterName: args.clusterName, principalArn: nodeRole.arn, type: "EC2_LINUX", tags: n.tags() },
      parent,
    );

    const [[queueKey, queueDefinition]] = resourcesOfType(template, "AWS::SQS::Queue");
    const queue = new aws.sqs.Queue(
      n.name("interruptions"),
      {
        name: staticVariables.apply(
          (variables) => resolveIntrinsics(queueDefinition.Properties.QueueName, variables) as string,
        ),
        messageRetentionSeconds: queueDefinition.Properties.MessageRetentionPeriod as number,
        sqsManagedSseEnabled: queueDefinition.Properties.SqsManagedSseEnabled as boolean,
        tags: n.tags(),
      },
      parent,
    );

    const [[nodeRoleKey]] = resourcesOfType(template, "AWS::IAM::Role");
    const variables = pulumi
      .all([staticVariables, nodeRole.arn, queue.arn])
      .apply(([base, nodeRoleArn, queueArn]) => ({
        ...base,
        [`${nodeRoleKey}.Arn`]: nodeRoleArn,
        [`${queueKey}.Arn`]: queueArn,
        [queueKey]: queueArn,
      }));

    for (const [key, definition] of resourcesOfType(template, "AWS::SQS::QueuePolicy")) {
      new aws.sqs.QueuePolicy(
        n.name(kebab(key)),
        {
          queueUrl: queue.url,
          policy: variables.apply((v) =>
            JSON.stringify(resolveIntrinsics(definition.Properties.PolicyDocument, v)),
          ),
        },
        parent,
      );
    }

    for (const [key, definition] of resourcesOfType(template, "AWS::Events::Rule")) {
      const rule = new aws.cloudwatch.EventRule(
        n.name(kebab(key)),
        {
          description: `Karpenter interruption handling: ${key}`,
          eventPattern: JSON.stringify(definition.Properties.EventPattern),
          tags: n.tags(),
        },
        parent,
      );
      const targets = definition.Properties.Targets as Array<{ Id: string }>;
      for (const target of targets) {
        new aws.cloudwatch.EventTarget(
          n.name(kebab(key), "target"),
          { rule: rule.name, targetId: target.Id, arn: queue.arn },
          parent,
        );
      }
    }

    const policies: Record<string, pulumi.Output<string>> = {};
    for (const [key, definition] of resourcesOfType(template, "AWS::IAM::ManagedPolicy")) {
      policies[kebab(key)] = variables.apply((v) => {
        const document = resolveIntrinsics(definition.Properties.PolicyDocument, v) as string;
        return JSON.stringify(JSON.parse(document));
      });
    }
    const controller = new ServiceIdentity(
      n.name("controller"),
      {
        stack: args.stack,
        identity: "karpenter",
        clusterName: args.clusterName,
        namespace: args.controller.namespace,
        serviceAccount: args.controller.serviceAccount,
        policies,
      },
      parent,
    );

    if (args.createSpotServiceLinkedRole) {
      new aws.iam.ServiceLinkedRole(
        n.name("spot-service-linked-role"),
        {
          awsServiceName: spotServiceName,
          description: "EC2 Spot launches for Karpenter's Spot capacity",
          tags: n.tags(),
        },
        parent,
      );
    }

    this.nodeRoleName = nodeRole.name;
    this.nodeRoleArn = nodeRole.arn;
    this.controllerRoleArn = controller.roleArn;
    this.interruptionQueueName = queue.name;
    this.discoveryTags = pulumi.output(args.clusterName).apply(karpenterDiscoveryTags);
    this.registerOutputs({
      nodeRoleName: this.nodeRoleName,
      controllerRoleArn: this.controllerRoleArn,
      interruptionQueueName: this.interruptionQueueName,
    });
  }
}

/** `NodeLifecyclePolicy` → `node-lifecycle-policy`, `EKSIntegrationPolicy` → `eks-integration-policy`. */
function kebab(key: string): string {
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .toLowerCase();
}
