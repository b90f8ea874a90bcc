import { describe, expect, it } from "vitest";
import { architectureOf, hardwareOf, instanceHardware } from "./instances";

describe("instanceHardware", () => {
  // amazon-vpc-cni-k8s misc/eni-max-pods.txt: t3.large 35, t3.medium 17, m7i/c7i/r7i large 29,
  // xlarge and 2xlarge 58.
  it("lists the burstable sizes whose ENIs differ from the other families", () => {
    expect(hardwareOf("t3.large")).toEqual({ vcpu: 2, memoryGiB: 8, maxPods: 35, ipsPerEni: 12 });
    expect(hardwareOf("t3.medium")).toEqual({ vcpu: 2, memoryGiB: 4, maxPods: 17, ipsPerEni: 6 });
  });

  it("derives each family's sizes from its memory per vCPU", () => {
    expect(hardwareOf("c7i.large")).toEqual({ vcpu: 2, memoryGiB: 4, maxPods: 29, ipsPerEni: 10 });
    expect(hardwareOf("m7i.xlarge")).toEqual({ vcpu: 4, memoryGiB: 16, maxPods: 58, ipsPerEni: 15 });
    expect(hardwareOf("r6i.2xlarge")).toEqual({ vcpu: 8, memoryGiB: 64, maxPods: 58, ipsPerEni: 15 });
    expect(hardwareOf("t3.xlarge")).toEqual({ vcpu: 4, memoryGiB: 16, maxPods: 58, ipsPerEni: 15 });
  });

  it("names an unknown type and the known ones", () => {
    expect(() => hardwareOf("m5.large")).toThrow(
      `unknown instance type "m5.large": add it to instances.ts (known: ${Object.keys(instanceHardware).join(", ")})`,
    );
    expect(Object.keys(instanceHardware)).toContain("t3.medium");
  });
});

describe("architectureOf", () => {
  it("reads Graviton from the g after the generation", () => {
    for (const family of ["m7g", "c7gn", "t4g", "r8g", "im4gn", "x2gd"])
      expect(architectureOf(family)).toBe("arm64");
    for (const family of ["m7i", "c6i", "t3", "r7a", "m5", "g5", "inf2"])
      expect(architectureOf(family)).toBe("amd64");
  });
});
