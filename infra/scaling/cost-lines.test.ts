import { describe, expect, it } from "vitest";
import { hpaTargetRatePerPod } from "./capacity";
import { albLcus, estimateMonthlyCost, fixedHourlyLines } from "./cost";
import { nodesForPods } from "./nodes";
import { type ScalingPolicy, scalingPolicyFor } from "./policy";
import { priceTableFor } from "./pricing";

/**
 * Every line of the estimate against figures worked out by hand from the us-east-1 table (730 hours
 * a month), on a policy whose counts all differ, so a line that multiplies, adds or names the wrong
 * count shows.
 */
const prod = scalingPolicyFor("prod");
const policy: ScalingPolicy = {
  ...prod,
  database: { ...prod.database, instanceClass: "db.r7g.large", readReplicas: 3, allocatedStorageGiB: 50 },
  cache: { nodeType: "cache.m7g.large", replicas: 2 },
  nodes: { ...prod.nodes, system: { ...prod.nodes.system, desiredSize: 3, instanceType: "m7i.large" } },
};
const prices = priceTableFor("us-east-1");

describe("fixedHourlyLines", () => {
  it("prices each fixed component from its count and hourly rate", () => {
    expect(fixedHourlyLines(policy, prices, { natGateways: 2, databaseMultiAz: true })).toEqual([
      { item: "EKS control plane", detail: "1 cluster", monthlyUsd: expect.closeTo(73, 6) },
      // 3 × $0.1008 × 730
      { item: "System node group", detail: "3 × m7i.large", monthlyUsd: expect.closeTo(220.752, 6) },
      // A Multi-AZ primary is billed with its standby: 2 × $0.239 × 730
      { item: "RDS primary", detail: "db.r7g.large, Multi-AZ", monthlyUsd: expect.closeTo(348.94, 6) },
      { item: "RDS read replicas", detail: "3 × db.r7g.large", monthlyUsd: expect.closeTo(523.41, 6) },
      // Primary, standby and three replicas each keep 50 GiB at $0.115 per GiB-month.
      { item: "RDS storage (gp3)", detail: "50 GiB × 5 instances", monthlyUsd: expect.closeTo(28.75, 6) },
      // One primary node and two replicas: 3 × $0.158 × 730
      { item: "ElastiCache nodes", detail: "3 × cache.m7g.large", monthlyUsd: expect.closeTo(346.02, 6) },
      { item: "NAT gateways", detail: "2 (hours only)", monthlyUsd: expect.closeTo(65.7, 6) },
    ]);
  });

  it("bills a Single-AZ primary once and stores one copy fewer", () => {
    const lines = fixedHourlyLines(policy, prices, { natGateways: 1, databaseMultiAz: false });
    expect(lines.find((line) => line.item === "RDS primary")).toEqual({
      item: "RDS primary",
      detail: "db.r7g.large, Single-AZ",
      monthlyUsd: expect.closeTo(174.47, 6),
    });
    expect(lines.find((line) => line.item === "RDS storage (gp3)")).toEqual({
      item: "RDS storage (gp3)",
      detail: "50 GiB × 4 instances",
      monthlyUsd: expect.closeTo(23, 6),
    });
  });

  it("defaults to one NAT gateway per zone and a Multi-AZ primary in prod, one and Single-AZ in dev", () => {
    const defaults = fixedHourlyLines(policy, prices);
    expect(defaults.find((line) => line.item === "NAT gateways")?.detail).toBe(
      `${policy.availabilityZones} (hours only)`,
    );
    expect(defaults.find((line) => line.item === "RDS primary")?.detail).toBe("db.r7g.large, Multi-AZ");
    const dev = fixedHourlyLines({ ...policy, stack: "dev" }, prices);
    expect(dev.find((line) => line.item === "NAT gateways")?.detail).toBe("1 (hours only)");
    expect(dev.find((line) => line.item === "RDS primary")?.detail).toBe("db.r7g.large, Single-AZ");
  });
});

describe("albLcus", () => {
  it("bills the processed gigabytes per hour at 4 KB a request, never under one LCU", () => {
    // 1000 req/s × 4000 B × 3600 s = 14.4 GB an hour
    expect(albLcus(1000)).toBeCloseTo(14.4, 9);
    expect(albLcus(250)).toBeCloseTo(3.6, 9);
    expect(albLcus(10)).toBe(1);
    expect(albLcus(0)).toBe(1);
  });
});

describe("estimateMonthlyCost's scaled lines", () => {
  it("serves the replicas' rate at the HPA target and names the app nodes by type and count", () => {
    const estimate = estimateMonthlyCost(policy, "max");
    const replicas = policy.pods.maxReplicas;
    expect(estimate.replicas).toBe(replicas);
    expect(estimate.requestsPerSecond).toBeCloseTo(replicas * hpaTargetRatePerPod(policy), 9);

    const nodes = nodesForPods(policy, replicas, "us-east-1");
    const counts = new Map<string, number>();
    for (const node of nodes) counts.set(node.instanceType, (counts.get(node.instanceType) ?? 0) + 1);
    expect(nodes.length).toBeGreaterThan(counts.size); // several nodes of one type: the count matters
    const appNodes = estimate.lines.find((line) => line.item === "App nodes (Karpenter)");
    expect(appNodes?.detail).toBe(
      `${replicas} pods on ${[...counts].map(([type, count]) => `${count} × ${type}`).join(" + ")}`,
    );
    const nodeHourly = nodes.reduce((sum, node) => sum + node.pricePerHour, 0);
    expect(appNodes?.monthlyUsd).toBeCloseTo(nodeHourly * 730, 2);

    const lcus = albLcus(estimate.requestsPerSecond);
    expect(lcus).toBeGreaterThan(1);
    expect(estimate.lines.find((line) => line.item === "Application load balancer")).toEqual({
      item: "Application load balancer",
      detail: `1 ALB, ${lcus.toFixed(1)} LCU at ${Math.round(estimate.requestsPerSecond)} req/s`,
      monthlyUsd: expect.closeTo((0.0225 + lcus * 0.008) * 730, 2),
    });
  });

  it("rounds every line to cents and totals the rounded lines", () => {
    const estimate = estimateMonthlyCost(policy, "typical");
    for (const line of estimate.lines)
      expect(Math.round(line.monthlyUsd * 100)).toBeCloseTo(line.monthlyUsd * 100, 9);
    expect(estimate.lines.find((line) => line.item === "System node group")?.monthlyUsd).toBe(220.75);
    const total = estimate.lines.reduce((sum, line) => sum + line.monthlyUsd, 0);
    expect(estimate.totalMonthlyUsd).toBeCloseTo(total, 9);
  });
});
