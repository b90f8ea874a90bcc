import { describe, expect, it } from "vitest";
import { subnetIpCapacity } from "../scaling/invariants";
import { cidrSubnet, planSubnets } from "./subnet-plan";

const toRange = (cidr: string) => {
  const [address, prefix] = cidr.split("/");
  const start = address.split(".").reduce((value, octet) => value * 256 + Number(octet), 0);
  return [start, start + 2 ** (32 - Number(prefix)) - 1];
};

describe("subnet plan", () => {
  it("cuts blocks like cidrsubnet", () => {
    expect(cidrSubnet("10.40.0.0/16", 18, 0)).toBe("10.40.0.0/18");
    expect(cidrSubnet("10.40.0.0/16", 18, 3)).toBe("10.40.192.0/18");
    expect(cidrSubnet("10.40.192.0/18", 22, 5)).toBe("10.40.212.0/22");
    expect(() => cidrSubnet("10.40.0.0/16", 18, 4)).toThrow(
      "10.40.0.0/16 holds 4 /18 blocks; index 4 is out of range",
    );
  });

  it("gives each AZ a quarter of the VPC for nodes and pods, and small public and data subnets", () => {
    expect(planSubnets("10.40.0.0/16", 3)).toEqual({
      private: ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"],
      public: ["10.40.192.0/22", "10.40.196.0/22", "10.40.200.0/22"],
      data: ["10.40.208.0/22", "10.40.212.0/22", "10.40.216.0/22"],
    });
    expect(subnetIpCapacity("10.40.0.0/18")).toBe(16379);
  });

  it("never overlaps and stays inside the VPC, for every allowed VPC size", () => {
    for (const vpc of ["10.40.0.0/16", "10.50.0.0/17", "172.16.0.0/18"]) {
      const plan = planSubnets(vpc, 3);
      const ranges = [...plan.private, ...plan.public, ...plan.data].map(toRange).sort((a, b) => a[0] - b[0]);
      const [vpcStart, vpcEnd] = toRange(vpc);
      ranges.forEach(([start, end], index) => {
        expect(start).toBeGreaterThanOrEqual(vpcStart);
        expect(end).toBeLessThanOrEqual(vpcEnd);
        if (index > 0) expect(start).toBeGreaterThan(ranges[index - 1][1]);
      });
    }
  });

  it("supports at most 3 AZs", () => {
    expect(() => planSubnets("10.40.0.0/16", 4)).toThrow(
      "the subnet plan supports 1 to 3 availability zones, not 4",
    );
  });
});
