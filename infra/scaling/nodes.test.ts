import { describe, expect, it } from "vitest";
import { instanceHardware } from "./instances";
import { chooseNodes, daemonSetOverhead, type NodeOption, podsPerNode } from "./nodes";
import { type ScalingPolicy, scalingPolicyFor } from "./policy";

function podOf(cpuRequestMillicores: number, memoryRequestMiB: number): ScalingPolicy {
  const policy = structuredClone(scalingPolicyFor("prod"));
  policy.pods.cpuRequestMillicores = cpuRequestMillicores;
  policy.pods.memoryRequestMiB = memoryRequestMiB;
  return policy;
}

/**
 * Allocatable after the EKS AMI's kube-reserved (awslabs/amazon-eks-ami: CPU 6% of the first core,
 * 1% of the second, 0.5% of the third and fourth, 0.25% of every core above; memory 255 MiB + 11 MiB
 * per max pod), the kubelet's 100 MiB hard eviction threshold, and the DaemonSets' requests.
 * m7i.xlarge: 4 vCPU, 16 GiB, 58 pods; m7i.2xlarge: 8 vCPU, 32 GiB, 58 pods.
 */
const xlarge = { cpu: 4000 - (60 + 10 + 2 * 5) - 200, memory: 16 * 1024 - (255 + 11 * 58) - 100 - 300 };
const twoXlarge = {
  cpu: 8000 - (60 + 10 + 2 * 5 + 4 * 2.5) - 200,
  memory: 32 * 1024 - (255 + 11 * 58) - 100 - 300,
};

describe("podsPerNode", () => {
  it("uses the hardware the table lists", () => {
    expect(instanceHardware["m7i.xlarge"]).toMatchObject({ vcpu: 4, memoryGiB: 16, maxPods: 58 });
    expect(instanceHardware["m7i.2xlarge"]).toMatchObject({ vcpu: 8, memoryGiB: 32, maxPods: 58 });
    expect(daemonSetOverhead).toEqual({ cpuMillicores: 200, memoryMiB: 300, pods: 5 });
  });

  it("fits a pod asking for exactly the allocatable CPU, and none asking 1 millicore more", () => {
    expect(xlarge.cpu).toBe(3720);
    expect(podsPerNode(podOf(xlarge.cpu, 1), "m7i.xlarge")).toBe(1);
    expect(podsPerNode(podOf(xlarge.cpu + 1, 1), "m7i.xlarge")).toBe(0);
    // Above four cores the 0.25% tier applies.
    expect(twoXlarge.cpu).toBe(7710);
    expect(podsPerNode(podOf(twoXlarge.cpu, 1), "m7i.2xlarge")).toBe(1);
    expect(podsPerNode(podOf(twoXlarge.cpu + 1, 1), "m7i.2xlarge")).toBe(0);
  });

  it("fits a pod asking for exactly the allocatable memory, and none asking 1 MiB more", () => {
    expect(xlarge.memory).toBe(15091);
    expect(podsPerNode(podOf(1, xlarge.memory), "m7i.xlarge")).toBe(1);
    expect(podsPerNode(podOf(1, xlarge.memory + 1), "m7i.xlarge")).toBe(0);
  });

  it("is bounded by the lowest of CPU, memory and the VPC CNI's pod slots left by the DaemonSets", () => {
    expect(podsPerNode(podOf(500, 512), "m7i.xlarge")).toBe(7);
    expect(podsPerNode(podOf(100, 1024), "m7i.xlarge")).toBe(14);
    expect(podsPerNode(podOf(1, 1), "m7i.xlarge")).toBe(58 - 5);
  });
});

describe("chooseNodes", () => {
  const option = (instanceType: string, slots: number, pricePerHour: number): NodeOption => ({
    instanceType,
    slots,
    pricePerHour,
    vcpu: 0,
    memoryGiB: 0,
  });

  it("says why it cannot place a pod when no instance type holds one", () => {
    expect(() => chooseNodes([], 1)).toThrow("no instance type in the NodePool can hold an app pod");
  });

  it("takes the cheapest type that holds every pending pod, else repeats the largest", () => {
    const options = [option("small", 2, 0.1), option("large", 8, 0.35)];
    expect(chooseNodes(options, 2).map((o) => o.instanceType)).toEqual(["small"]);
    expect(chooseNodes(options, 3).map((o) => o.instanceType)).toEqual(["large"]);
    expect(chooseNodes(options, 10).map((o) => o.instanceType)).toEqual(["large", "small"]);
    expect(chooseNodes(options, 0)).toEqual([]);
  });
});
