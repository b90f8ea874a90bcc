import { describe, expect, it } from "vitest";
import { estimateMonthlyCost } from "./cost";
import { scalingPolicyFor } from "./policy";
import { priceTableFor } from "./pricing";

describe("estimateMonthlyCost", () => {
  const prod = scalingPolicyFor("prod");
  const prices = priceTableFor("us-east-1");

  it("itemises every component from the dated us-east-1 table", () => {
    const estimate = estimateMonthlyCost(prod, "min");
    expect(estimate).toMatchObject({ region: "us-east-1", pricesAsOf: prices.asOf, replicas: 3 });
    expect(estimate.pricesAsOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(estimate.lines.map((line) => line.item)).toEqual([
      "EKS control plane",
      "System node group",
      "RDS primary",
      "RDS read replicas",
      "RDS storage (gp3)",
      "ElastiCache nodes",
      "NAT gateways",
      "App nodes (Karpenter)",
      "Application load balancer",
    ]);
    const line = (item: string) => estimate.lines.find((l) => l.item === item)?.monthlyUsd;
    expect(line("EKS control plane")).toBeCloseTo(0.1 * 730, 2);
    // Multi-AZ is a primary plus a standby: twice one replica of the same class.
    expect(line("RDS primary")).toBeCloseTo(line("RDS read replicas") ?? 0, 2);
    expect(estimate.lines.find((l) => l.item === "RDS primary")?.detail).toBe("db.r7g.large, Multi-AZ");
    expect(line("NAT gateways")).toBeCloseTo(3 * 0.045 * 730, 2);
    expect(estimate.totalMonthlyUsd).toBeCloseTo(
      estimate.lines.reduce((sum, l) => sum + l.monthlyUsd, 0),
      2,
    );
  });

  it("grows from min to typical to max scale", () => {
    const [min, typical, max] = (["min", "typical", "max"] as const).map((scale) =>
      estimateMonthlyCost(prod, scale),
    );
    // typical: the objectives' 1000 users at the HPA target, at the measured per-pod rate.
    const typicalReplicas = Math.max(3, Math.ceil(1000 / prod.hpa.targetRequestsPerSecondPerPod));
    expect([min.replicas, typical.replicas, max.replicas]).toEqual([3, typicalReplicas, 80]);
    expect(min.totalMonthlyUsd).toBeLessThanOrEqual(typical.totalMonthlyUsd);
    expect(typical.totalMonthlyUsd).toBeLessThan(max.totalMonthlyUsd);
  });

  it("follows the network's NAT gateways and the database's Multi-AZ setting", () => {
    const dev = estimateMonthlyCost(scalingPolicyFor("dev"), "min");
    expect(dev.lines.find((l) => l.item === "RDS primary")?.detail).toBe("db.t4g.medium, Single-AZ");
    expect(dev.lines.find((l) => l.item === "NAT gateways")?.monthlyUsd).toBeCloseTo(0.045 * 730, 2);
    const single = estimateMonthlyCost(prod, "min", { natGateways: 1, databaseMultiAz: false });
    expect(estimateMonthlyCost(prod, "min").totalMonthlyUsd - single.totalMonthlyUsd).toBeCloseTo(
      2 * 0.045 * 730 + 0.239 * 730 + 100 * 0.115,
      1,
    );
  });

  it("dev costs less than prod", () => {
    expect(estimateMonthlyCost(scalingPolicyFor("dev"), "typical").totalMonthlyUsd).toBeLessThan(
      estimateMonthlyCost(prod, "typical").totalMonthlyUsd,
    );
  });

  it("refuses a region without a price table and an unknown scale", () => {
    expect(() => estimateMonthlyCost(prod, "min", { region: "eu-west-1" })).toThrow(
      /no price table for region "eu-west-1" \(available: us-east-1\)/,
    );
    expect(() => estimateMonthlyCost(prod, "peak" as "max")).toThrow(
      'unknown cost scale "peak" (allowed: min, typical, max)',
    );
  });

  it("prices min at minReplicas and typical at the peak users over the HPA target", () => {
    const policy = structuredClone(prod);
    policy.pods.minReplicas = 1;
    policy.objectives.peakConcurrentUsers = 10 * policy.hpa.targetRequestsPerSecondPerPod;
    expect(estimateMonthlyCost(policy, "min").replicas).toBe(1);
    expect(estimateMonthlyCost(policy, "typical").replicas).toBe(10);
    expect(estimateMonthlyCost(policy, "max").replicas).toBe(policy.pods.maxReplicas);
  });

  it("names the service, the key and the region of a price the table lacks", () => {
    const missing = (change: (policy: typeof prod) => void) => {
      const policy = structuredClone(prod);
      change(policy);
      return () => estimateMonthlyCost(policy, "min");
    };
    expect(missing((p) => (p.database.instanceClass = "db.x9.huge"))).toThrow(
      'no RDS price for "db.x9.huge" in the us-east-1 price table (pricing.ts)',
    );
    expect(missing((p) => (p.cache.nodeType = "cache.x9.huge"))).toThrow(
      'no ElastiCache price for "cache.x9.huge" in the us-east-1 price table (pricing.ts)',
    );
    expect(missing((p) => (p.nodes.system.instanceType = "m7i.large-ish"))).toThrow(
      'no EC2 price for "m7i.large-ish" in the us-east-1 price table (pricing.ts)',
    );
  });

  it("itemises the app nodes by type", () => {
    const line = estimateMonthlyCost(prod, "min").lines.find((l) => l.item === "App nodes (Karpenter)");
    expect(line?.detail).toMatch(/^3 pods on \d+ × [a-z0-9]+\.[a-z0-9]+( \+ \d+ × [a-z0-9]+\.[a-z0-9]+)*$/);
  });
});
