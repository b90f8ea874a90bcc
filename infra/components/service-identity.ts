/**
 * An IAM role for one Kubernetes service account through EKS Pod Identity: the role trusts the
 * Pod Identity agent, and the association binds it to `namespace/serviceAccount` in the cluster.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType, naming } from "../naming";

export interface ServiceIdentityArgs {
  stack: StackName;
  /** A short name for resource names, e.g. `karpenter` (IAM names are limited to 64 characters). */
  identity: string;
  clusterName: pulumi.Input<string>;
  namespace: string;
  serviceAccount: string;
  /** Inline policy documents (JSON), each attached as its own managed policy. */
  policies?: Record<string, pulumi.Input<string>>;
  /** AWS managed policies to attach, by ARN. */
  managedPolicyArns?: string[];
}

/** The trust policy of every Pod Identity role. */
export const podIdentityTrustPolicy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    },
  ],
});

export class ServiceIdentity extends pulumi.ComponentResource {
  readonly roleArn: pulumi.Output<string>;
  readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: ServiceIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ServiceIdentity"), name, {}, opts);
    const n = componentNaming(name, args.stack, `identity-${args.identity}`);
    // Children were named `parley-<stack>-identity-<identity>-...`: with the old name as an alias the
    // engine updates each in place, keeping its auto-named role and policies
    // (pulumi.com/docs/iac/concepts/resources/options/aliases/).
    const former = naming(args.stack, `identity-${args.identity}`);
    const child = (parts: string[], extra: pulumi.CustomResourceOptions = {}) => ({
      parent: this,
      ...(former.name(...parts) === n.name(...parts) ? {} : { aliases: [{ name: former.name(...parts) }] }),
      ...extra,
    });

    const role = new aws.iam.Role(
      n.name("role"),
      {
        assumeRolePolicy: podIdentityTrustPolicy,
        description: `Pod Identity role of ${args.namespace}/${args.serviceAccount}`,
        tags: n.tags(),
      },
      child(["role"]),
    );
    const attachments: pulumi.Resource[] = [];
    for (const [policyName, document] of Object.entries(args.policies ?? {})) {
      const policy = new aws.iam.Policy(
        n.name(policyName),
        { policy: document, tags: n.tags() },
        child([policyName]),
      );
      attachments.push(
        new aws.iam.RolePolicyAttachment(
          n.name(policyName, "attachment"),
          { role: role.name, policyArn: policy.arn },
          child([policyName, "attachment"]),
        ),
      );
    }
    (args.managedPolicyArns ?? []).forEach((policyArn, index) => {
      attachments.push(
        new aws.iam.RolePolicyAttachment(
          n.name("managed", String(index)),
          { role: role.name, policyArn },
          child(["managed", String(index)]),
        ),
      );
    });
    new aws.eks.PodIdentityAssociation(
      n.name("association"),
      {
        clusterName: args.clusterName,
        namespace: args.namespace,
        serviceAccount: args.serviceAccount,
        roleArn: role.arn,
        tags: n.tags(),
      },
      child(["association"], { dependsOn: attachments }),
    );

    this.roleArn = role.arn;
    this.roleName = role.name;
    this.registerOutputs({ roleArn: this.roleArn, roleName: this.roleName });
  }
}

/** A policy that lets a role read the given Secrets Manager secrets (encrypted with the given KMS keys). */
export function secretReaderPolicy(
  secretArns: pulumi.Input<string>[],
  kmsKeyArns: pulumi.Input<string>[],
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: secretArns,
      },
      {
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: kmsKeyArns,
        Condition: { StringLike: { "kms:ViaService": "secretsmanager.*.amazonaws.com" } },
      },
    ],
  });
}
