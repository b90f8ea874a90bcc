/**
 * EC2 instance hardware the node model needs: vCPUs, memory and the VPC CNI's max pods (ENIs ×
 * (IPv4 addresses per ENI − 1) + 2, from amazon-vpc-cni-k8s misc/eni-max-pods.txt). Compiled
 * 2026-11-22 for the families the policies may choose; add a row to use another.
 */
export interface InstanceHardware {
  vcpu: number;
  memoryGiB: number;
  maxPods: number;
  /** IPv4 addresses per ENI: the VPC CNI's warm ENI (WARM_ENI_TARGET=1) holds this many spare. */
  ipsPerEni: number;
}

const sizes = {
  large: { vcpu: 2, maxPods: 29, ipsPerEni: 10 },
  xlarge: { vcpu: 4, maxPods: 58, ipsPerEni: 15 },
  "2xlarge": { vcpu: 8, maxPods: 58, ipsPerEni: 15 },
} as const;

/** GiB of memory per vCPU of each family (c: 2, m: 4, r: 8; t3 is m-shaped). */
const familyMemoryPerVcpu: Record<string, number> = {
  c7i: 2,
  c6i: 2,
  m7i: 4,
  m6i: 4,
  r7i: 8,
  r6i: 8,
  t3: 4,
};

function buildTable(): Record<string, InstanceHardware> {
  const table: Record<string, InstanceHardware> = {};
  for (const [family, memoryPerVcpu] of Object.entries(familyMemoryPerVcpu)) {
    for (const [size, { vcpu, maxPods, ipsPerEni }] of Object.entries(sizes)) {
      table[`${family}.${size}`] = { vcpu, memoryGiB: vcpu * memoryPerVcpu, maxPods, ipsPerEni };
    }
  }
  // t3.large has 3 ENIs × 12 addresses, unlike the 10-address ENIs of the other large sizes.
  table["t3.large"] = { vcpu: 2, memoryGiB: 8, maxPods: 35, ipsPerEni: 12 };
  table["t3.medium"] = { vcpu: 2, memoryGiB: 4, maxPods: 17, ipsPerEni: 6 };
  return table;
}

export const instanceHardware: Readonly<Record<string, InstanceHardware>> = buildTable();

export function hardwareOf(instanceType: string): InstanceHardware {
  const hardware = instanceHardware[instanceType];
  if (!hardware) {
    const known = Object.keys(instanceHardware).join(", ");
    throw new Error(`unknown instance type "${instanceType}": add it to instances.ts (known: ${known})`);
  }
  return hardware;
}

/** The CPU architecture of an instance family: Graviton families carry a "g" after the generation (m7g, c7gn, t4g). */
export function architectureOf(family: string): "arm64" | "amd64" {
  return /^[a-z]+\d+g/.test(family) ? "arm64" : "amd64";
}
