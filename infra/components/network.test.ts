import { beforeAll, describe, expect, it } from "vitest";
import { resourceNamed, resourcesOfType } from "../../tests/support/infra/resources";
import { type ProgramRun, runProgram } from "../offline-runner/runner";

let prod: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
  dev = await runProgram({ stack: "dev" });
});

const subnetsOf = (run: ProgramRun, tier: string) =>
  resourcesOfType(run, "aws:ec2/subnet:Subnet").filter(
    (subnet) => (subnet.inputs.tags as Record<string, string>).tier === tier,
  );

describe("Network", () => {
  it("spans 3 AZs with a private, public and data subnet in each", () => {
    const vpc = resourceNamed(prod, "aws:ec2/vpc:Vpc", "network-vpc");
    expect(vpc.inputs).toMatchObject({
      cidrBlock: "10.40.0.0/16",
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    for (const tier of ["private", "public", "data"]) {
      const subnets = subnetsOf(prod, tier);
      expect(subnets).toHaveLength(3);
      expect(new Set(subnets.map((subnet) => subnet.inputs.availabilityZone))).toEqual(
        new Set(["us-east-1a", "us-east-1b", "us-east-1c"]),
      );
      for (const subnet of subnets) expect(subnet.inputs.vpcId).toBe(vpc.outputs.id);
    }
  });

  it("gives the private subnets (nodes and VPC-CNI pod IPs) a /18 each", () => {
    expect(subnetsOf(prod, "private").map((subnet) => subnet.inputs.cidrBlock)).toEqual([
      "10.40.0.0/18",
      "10.40.64.0/18",
      "10.40.128.0/18",
    ]);
  });

  it("tags subnets for the load balancer controller and Karpenter discovery", () => {
    for (const subnet of subnetsOf(prod, "public")) {
      expect(subnet.inputs.tags).toMatchObject({
        "kubernetes.io/role/elb": "1",
        "kubernetes.io/cluster/parley-prod": "shared",
      });
      expect(subnet.inputs.tags).not.toHaveProperty("karpenter.sh/discovery");
    }
    for (const subnet of subnetsOf(prod, "private")) {
      expect(subnet.inputs.tags).toMatchObject({
        "kubernetes.io/role/internal-elb": "1",
        "karpenter.sh/discovery": "parley-prod",
      });
    }
    for (const subnet of subnetsOf(prod, "data")) {
      expect(subnet.inputs.tags).not.toHaveProperty("karpenter.sh/discovery");
    }
  });

  it("has a NAT gateway per AZ in prod, each private route table using its own AZ's", () => {
    const nats = resourcesOfType(prod, "aws:ec2/natGateway:NatGateway");
    expect(nats).toHaveLength(3);
    const publicSubnetIds = subnetsOf(prod, "public").map((subnet) => subnet.outputs.id);
    expect(nats.map((nat) => nat.inputs.subnetId)).toEqual(publicSubnetIds);
    const privateTables = resourcesOfType(prod, "aws:ec2/routeTable:RouteTable").filter((table) =>
      table.name.includes("private-rt"),
    );
    const natIds = privateTables.map(
      (table) => (table.inputs.routes as Array<{ natGatewayId: string }>)[0].natGatewayId,
    );
    expect(natIds).toEqual(nats.map((nat) => nat.outputs.id));
  });

  it("has a single NAT gateway in dev, shared by every private subnet", () => {
    const nats = resourcesOfType(dev, "aws:ec2/natGateway:NatGateway");
    expect(nats).toHaveLength(1);
    const privateTables = resourcesOfType(dev, "aws:ec2/routeTable:RouteTable").filter((table) =>
      table.name.includes("private-rt"),
    );
    expect(privateTables).toHaveLength(3);
    for (const table of privateTables) {
      expect(table.inputs.routes).toEqual([{ cidrBlock: "0.0.0.0/0", natGatewayId: nats[0].outputs.id }]);
    }
  });

  it("keeps the data subnets without a route out of the VPC", () => {
    const dataTable = resourceNamed(prod, "aws:ec2/routeTable:RouteTable", "network-data-rt");
    expect(dataTable.inputs.routes ?? []).toEqual([]);
  });

  it("logs every flow to CloudWatch with the configured retention", () => {
    const flowLog = resourceNamed(prod, "aws:ec2/flowLog:FlowLog", "network-flow-log");
    const logGroup = resourceNamed(prod, "aws:cloudwatch/logGroup:LogGroup", "network-flow-logs");
    const vpc = resourceNamed(prod, "aws:ec2/vpc:Vpc", "network-vpc");
    expect(flowLog.inputs).toMatchObject({
      vpcId: vpc.outputs.id,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.outputs.arn,
    });
    expect(logGroup.inputs.retentionInDays).toBe(90);
  });

  it("strips the default security group of its rules", () => {
    const defaultSg = resourceNamed(
      prod,
      "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
      "network-default-sg",
    );
    expect(defaultSg.inputs.ingress ?? []).toEqual([]);
    expect(defaultSg.inputs.egress ?? []).toEqual([]);
  });
});
