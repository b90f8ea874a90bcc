/**
 * The VPC: public, private (nodes and pods) and data subnets across the stack's AZs, NAT per AZ
 * (or one, in dev), flow logs, and the subnet tags the load balancer controller and Karpenter use
 * to discover where to put load balancers and nodes.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../contracts/stacks";
import type { NatGatewayMode } from "../config";
import { componentNaming, componentType, type Naming } from "../naming";
import { karpenterDiscoveryTags } from "./karpenter-aws";
import { planSubnets, type SubnetPlan } from "./subnet-plan";

export interface NetworkArgs {
  stack: StackName;
  vpcCidr: string;
  availabilityZones: number;
  natGateways: NatGatewayMode;
  /** The EKS cluster's name, for the discovery tags on subnets. */
  clusterName: string;
  logRetentionDays: number;
}

export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  /** The AZ names in use, in subnet order. */
  readonly availabilityZoneNames: pulumi.Output<string[]>;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly dataSubnetIds: pulumi.Output<string>[];
  /** The subnets' CIDR blocks, in AZ order (known before deployment). */
  readonly subnetCidrs: SubnetPlan;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Network"), name, {}, opts);
    const n = componentNaming(name, args.stack, "network");
    const parent = { parent: this };
    const plan = planSubnets(args.vpcCidr, args.availabilityZones);
    this.subnetCidrs = plan;

    const zones = aws.getAvailabilityZonesOutput(
      { state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] },
      parent,
    );
    this.availabilityZoneNames = zones.names.apply((names) => {
      if (names.length < args.availabilityZones) {
        throw new Error(
          `parley:availabilityZones = ${args.availabilityZones} but the region offers only ${names.length} zones (${names.join(", ")})`,
        );
      }
      return names.slice(0, args.availabilityZones);
    });
    const zoneAt = (index: number) => this.availabilityZoneNames.apply((names) => names[index]);

    const vpc = new aws.ec2.Vpc(
      n.name("vpc"),
      {
        cidrBlock: args.vpcCidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: n.tags({ Name: n.name("vpc") }),
      },
      parent,
    );
    this.vpcId = vpc.id;
    this.vpcCidr = args.vpcCidr;

    // Nothing may use the default security group: strip its rules.
    new aws.ec2.DefaultSecurityGroup(
      n.name("default-sg"),
      { vpcId: vpc.id, tags: n.tags({ Name: n.name("default-sg-unused") }) },
      parent,
    );

    const internetGateway = new aws.ec2.InternetGateway(
      n.name("igw"),
      { vpcId: vpc.id, tags: n.tags({ Name: n.name("igw") }) },
      parent,
    );

    const subnet = (
      tier: "public" | "private" | "data",
      index: number,
      cidr: string,
      tags: Record<string, string>,
    ) =>
      new aws.ec2.Subnet(
        n.name(tier, String(index)),
        {
          vpcId: vpc.id,
          cidrBlock: cidr,
          availabilityZone: zoneAt(index),
          mapPublicIpOnLaunch: false,
          tags: n.tags({ Name: n.name(tier, String(index)), tier, ...tags }),
        },
        parent,
      );

    const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: "shared" };
    const publicSubnets = plan.public.map((cidr, index) =>
      subnet("public", index, cidr, { ...clusterTag, "kubernetes.io/role/elb": "1" }),
    );
    const privateSubnets = plan.private.map((cidr, index) =>
      subnet("private", index, cidr, {
        ...clusterTag,
        "kubernetes.io/role/internal-elb": "1",
        ...karpenterDiscoveryTags(args.clusterName),
      }),
    );
    const dataSubnets = plan.data.map((cidr, index) => subnet("data", index, cidr, {}));
    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.dataSubnetIds = dataSubnets.map((s) => s.id);

    const associate = (
      tier: "public" | "private" | "data",
      index: number,
      subnet: aws.ec2.Subnet,
      table: aws.ec2.RouteTable,
    ) =>
      new aws.ec2.RouteTableAssociation(
        n.name(`${tier}-rta`, String(index)),
        { subnetId: subnet.id, routeTableId: table.id },
        parent,
      );

    const publicRoutes = new aws.ec2.RouteTable(
      n.name("public-rt"),
      {
        vpcId: vpc.id,
        routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }],
        tags: n.tags({ Name: n.name("public-rt") }),
      },
      parent,
    );
    for (const [index, s] of publicSubnets.entries()) associate("public", index, s, publicRoutes);

    const natCount = args.natGateways === "perAz" ? args.availabilityZones : 1;
    const natGateways = publicSubnets.slice(0, natCount).map((s, index) => {
      const eip = new aws.ec2.Eip(
        n.name("nat-eip", String(index)),
        { domain: "vpc", tags: n.tags({ Name: n.name("nat-eip", String(index)) }) },
        parent,
      );
      return new aws.ec2.NatGateway(
        n.name("nat", String(index)),
        { allocationId: eip.id, subnetId: s.id, tags: n.tags({ Name: n.name("nat", String(index)) }) },
        { parent: this, dependsOn: [internetGateway] },
      );
    });

    const privateRouteTables = privateSubnets.map((s, index) => {
      const table = new aws.ec2.RouteTable(
        n.name("private-rt", String(index)),
        {
          vpcId: vpc.id,
          // Each AZ egresses through its own NAT gateway when there is one per AZ.
          routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: natGateways[index % natGateways.length].id }],
          tags: n.tags({ Name: n.name("private-rt", String(index)) }),
        },
        parent,
      );
      associate("private", index, s, table);
      return table;
    });

    // Data subnets have no route out of the VPC.
    const dataRoutes = new aws.ec2.RouteTable(
      n.name("data-rt"),
      { vpcId: vpc.id, tags: n.tags({ Name: n.name("data-rt") }) },
      parent,
    );
    for (const [index, s] of dataSubnets.entries()) associate("data", index, s, dataRoutes);

    // Image layers from ECR are served by S3: a gateway endpoint keeps that traffic off the NAT gateways.
    new aws.ec2.VpcEndpoint(
      n.name("s3-endpoint"),
      {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${aws.getRegionOutput({}, parent).region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTables.map((table) => table.id),
        tags: n.tags({ Name: n.name("s3-endpoint") }),
      },
      parent,
    );

    this.createFlowLogs(n, vpc, args.logRetentionDays);

    this.registerOutputs({
      vpcId: this.vpcId,
      availabilityZoneNames: this.availabilityZoneNames,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
      dataSubnetIds: this.dataSubnetIds,
    });
  }

  /** Every accepted and rejected flow, to CloudWatch Logs. */
  private createFlowLogs(n: Naming, vpc: aws.ec2.Vpc, retentionInDays: number): void {
    const parent = { parent: this };
    const logGroup = new aws.cloudwatch.LogGroup(
      n.name("flow-logs"),
      { name: `/parley/${n.stack}/vpc-flow-logs`, retentionInDays, tags: n.tags() },
      parent,
    );
    const role = new aws.iam.Role(
      n.name("flow-logs-role"),
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "vpc-flow-logs.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
        tags: n.tags(),
      },
      parent,
    );
    new aws.iam.RolePolicy(
      n.name("flow-logs-policy"),
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
              ],
              Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
            },
          ],
        }),
      },
      parent,
    );
    new aws.ec2.FlowLog(
      n.name("flow-log"),
      {
        vpcId: vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: logGroup.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
        tags: n.tags(),
      },
      parent,
    );
  }
}
