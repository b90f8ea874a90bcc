/**
 * NetworkPolicies of the app namespace: deny everything, then admit the load balancer to the app
 * port and Prometheus to the metrics port (nothing else reaches /metrics), and let pods reach only DNS, PostgreSQL, Redis, the Pod Identity
 * agent and HTTPS (the AI provider). Enforced by the VPC CNI's network policy agent.
 */
import type * as k8s from "@pulumi/kubernetes";

type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

export interface NetworkPolicyInput {
  appSelector: Record<string, string>;
  appPort: number;
  /** The metrics port: Prometheus only. */
  metricsPort: number;
  /** Subnets the ALB's nodes live in (targets are pod IPs, so traffic arrives from these). */
  loadBalancerSubnetCidrs: string[];
  /** Namespace of the Prometheus that scrapes /metrics. */
  monitoringNamespace: string;
  /** The VPC: RDS and ElastiCache sit in its data subnets. */
  vpcCidr: string;
  postgresPort: number;
  redisPort: number;
}

/** EKS Pod Identity agent's link-local credentials endpoint on every node. */
const podIdentityAgent = { cidr: "169.254.170.23/32", port: 80 };

const namespaceLabel = "kubernetes.io/metadata.name";

export const networkPolicyNames = [
  "default-deny",
  "ingress-from-load-balancer",
  "ingress-from-prometheus",
  "egress-dependencies",
] as const;
export type NetworkPolicyName = (typeof networkPolicyNames)[number];

export function networkPolicySpecs(input: NetworkPolicyInput): Record<NetworkPolicyName, NetworkPolicySpec> {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  return {
    "default-deny": { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    "ingress-from-load-balancer": {
      podSelector: { matchLabels: input.appSelector },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: input.loadBalancerSubnetCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ports: [tcp(input.appPort)],
        },
      ],
    },
    "ingress-from-prometheus": {
      podSelector: { matchLabels: input.appSelector },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { [namespaceLabel]: input.monitoringNamespace } } }],
          ports: [tcp(input.metricsPort)],
        },
      ],
    },
    "egress-dependencies": {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { [namespaceLabel]: "kube-system" } },
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
          ],
          ports: [
            { protocol: "UDP", port: 53 },
            { protocol: "TCP", port: 53 },
          ],
        },
        {
          to: [{ ipBlock: { cidr: input.vpcCidr } }],
          ports: [tcp(input.postgresPort), tcp(input.redisPort)],
        },
        { to: [{ ipBlock: { cidr: podIdentityAgent.cidr } }], ports: [tcp(podIdentityAgent.port)] },
        // The AI provider (and AWS APIs) over HTTPS, anywhere outside the VPC.
        { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [input.vpcCidr] } }], ports: [tcp(443)] },
      ],
    },
  };
}
