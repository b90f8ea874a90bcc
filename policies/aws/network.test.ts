import { describe, expect, it } from "vitest";
import { securityGroup } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { noWorldIngress } from "./network";

const group = "aws:ec2/securityGroup:SecurityGroup";

describe("security-group-no-world-ingress", () => {
  it("passes a group open to the world only on the public listener port", async () => {
    expect(await messages(noWorldIngress, [planned(group, securityGroup)])).toEqual([]);
  });

  it("inline ingress open to the world on another port", async () => {
    const r = planned(group, mutate(securityGroup, "ingress.1.fromPort", 22));
    expect(await messages(noWorldIngress, [r])).toEqual(["Ingress on ports 22-443 is open to 0.0.0.0/0."]);
  });

  it("IPv6 world ingress counts too", async () => {
    const database = {
      ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] }],
    };
    expect(await messages(noWorldIngress, [planned(group, database)])).toEqual([]);
    const r = planned(group, mutate(database, "ingress.0.ipv6CidrBlocks", ["::/0"]));
    expect(await messages(noWorldIngress, [r])).toEqual(["Ingress on port 5432 is open to ::/0."]);
  });

  it("the listener ports come from the pack config", async () => {
    expect(
      await messages(noWorldIngress, [planned(group, securityGroup)], { publicListenerPorts: [80] }),
    ).toEqual(["Ingress on port 443 is open to 0.0.0.0/0."]);
  });

  it("a standalone ingress rule open to the world", async () => {
    const rule = {
      type: "ingress",
      securityGroupId: "sg-1",
      protocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
      cidrBlocks: ["10.0.0.0/16"],
    };
    const typeName = "aws:ec2/securityGroupRule:SecurityGroupRule";
    expect(await messages(noWorldIngress, [planned(typeName, rule)])).toEqual([]);
    expect(
      await messages(noWorldIngress, [planned(typeName, mutate(rule, "cidrBlocks", ["0.0.0.0/0"]))]),
    ).toEqual(["Ingress on port 5432 is open to 0.0.0.0/0."]);
    expect(
      await messages(noWorldIngress, [
        planned(typeName, { ...rule, type: "egress", cidrBlocks: ["0.0.0.0/0"] }),
      ]),
    ).toEqual([]);
  });

  it("a VPC ingress rule for all protocols from the world", async () => {
    const rule = { securityGroupId: "sg-1", ipProtocol: "-1", referencedSecurityGroupId: "sg-2" };
    const typeName = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
    expect(await messages(noWorldIngress, [planned(typeName, rule)])).toEqual([]);
    expect(
      await messages(noWorldIngress, [planned(typeName, mutate(rule, "cidrIpv4", "0.0.0.0/0"))]),
    ).toEqual(["Ingress on ports 0-65535 is open to 0.0.0.0/0."]);
  });

  it("a range that merely starts at the listener port is not the listener", async () => {
    const r = planned(group, mutate(securityGroup, "ingress.1.toPort", 8443));
    expect(await messages(noWorldIngress, [r])).toEqual(["Ingress on ports 443-8443 is open to 0.0.0.0/0."]);
  });

  it("names every world range a rule opens", async () => {
    const database = {
      ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0", "10.0.0.0/16"] }],
    };
    const r = planned(group, mutate(database, "ingress.0.ipv6CidrBlocks", ["::/0"]));
    expect(await messages(noWorldIngress, [r])).toEqual(["Ingress on port 5432 is open to 0.0.0.0/0, ::/0."]);
  });
});
