/**
 * Network access to a data store (PostgreSQL, Redis): its own security group, which admits only the
 * EKS cluster's security group (nodes and pods) on the store's port, and nothing else.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Naming } from "../naming";

export interface DataStoreAccessArgs {
  vpcId: pulumi.Input<string>;
  /** The only security group admitted (the cluster's). */
  clientSecurityGroupId: pulumi.Input<string>;
  port: number;
  /** What the store is, for the descriptions: "PostgreSQL", "Redis". */
  service: string;
}

/** Declares `<component>-sg` and its one ingress rule `<component>-sg-from-cluster`; returns the group. */
export function clusterOnlySecurityGroup(
  n: Naming,
  args: DataStoreAccessArgs,
  opts: pulumi.CustomResourceOptions,
): aws.ec2.SecurityGroup {
  const securityGroup = new aws.ec2.SecurityGroup(
    n.name("sg"),
    {
      vpcId: args.vpcId,
      description: `${args.service}: admits only the EKS cluster`,
      tags: n.tags({ Name: n.name("sg") }),
    },
    opts,
  );
  new aws.vpc.SecurityGroupIngressRule(
    n.name("sg-from-cluster"),
    {
      securityGroupId: securityGroup.id,
      referencedSecurityGroupId: args.clientSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: args.port,
      toPort: args.port,
      description: `${args.service} from the cluster nodes and pods`,
      tags: n.tags(),
    },
    opts,
  );
  return securityGroup;
}
