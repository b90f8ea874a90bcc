/** The Karpenter (karpenter.sh/v1) NodePool for application pods, derived from the policy. */
import { architectureOf } from "./instances";
import type { ScalingPolicy } from "./policy";

export interface NodeSelectorRequirement {
  key: string;
  operator: "In";
  values: string[];
}

/** karpenter.sh/v1 NodePool `spec`. */
export interface KarpenterNodePoolSpec {
  template: {
    spec: {
      nodeClassRef: { group: "karpenter.k8s.aws"; kind: "EC2NodeClass"; name: string };
      requirements: NodeSelectorRequirement[];
      expireAfter: string;
    };
  };
  limits: { cpu: string; memory: string };
  disruption: {
    consolidationPolicy: "WhenEmptyOrUnderutilized";
    consolidateAfter: string;
    budgets: Array<{ nodes: string }>;
  };
}

/** Nodes are replaced after 30 days so they pick up new AMIs (Karpenter's default, stated explicitly). */
const nodeExpiry = "720h";
/** At most 10% of the pool's nodes are disrupted at once (Karpenter's default budget, stated explicitly). */
const disruptionBudget = "10%";

export function karpenterNodePoolSpec(policy: ScalingPolicy, nodeClassName: string): KarpenterNodePoolSpec {
  const { karpenter } = policy.nodes;
  const architectures = [...new Set(karpenter.instanceFamilies.map(architectureOf))].sort();
  return {
    template: {
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: nodeClassName },
        requirements: [
          {
            key: "karpenter.k8s.aws/instance-family",
            operator: "In",
            values: [...karpenter.instanceFamilies],
          },
          { key: "karpenter.k8s.aws/instance-size", operator: "In", values: [...karpenter.instanceSizes] },
          { key: "karpenter.sh/capacity-type", operator: "In", values: [...karpenter.capacityTypes] },
          { key: "kubernetes.io/arch", operator: "In", values: architectures },
          { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
        ],
        expireAfter: nodeExpiry,
      },
    },
    limits: { cpu: String(karpenter.cpuLimitCores), memory: `${karpenter.memoryLimitGiB}Gi` },
    disruption: {
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: `${karpenter.consolidateAfterSeconds}s`,
      budgets: [{ nodes: disruptionBudget }],
    },
  };
}
