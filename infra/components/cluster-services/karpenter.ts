/**
 * Karpenter: the controller's Helm values and the EC2NodeClass of the app's nodes. The NodePool
 * (every capacity number) is derived from the scaling policy in infra/scaling/karpenter.ts.
 */
import { type Placement, systemPlacement } from "./controllers";

/** The NodePool (and EC2NodeClass) that runs the app; the workload pins its pods to it. */
export const appNodePoolName = "parley-app";

/** The chart's metrics Service: named after the release, its port `http-metrics`. */
export const karpenterMetricsService = {
  selector: { "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter" },
  portName: "http-metrics",
} as const;

/** Karpenter's own label naming the NodePool a node belongs to. */
export const nodePoolLabel = "karpenter.sh/nodepool";

export interface KarpenterValues extends Placement {
  settings: { clusterName: string; clusterEndpoint: string; interruptionQueue: string };
  serviceAccount: { create: true; name: string };
  replicas: number;
  dnsPolicy: "Default";
  controller: {
    resources: { requests: { cpu: string; memory: string }; limits: { memory: string } };
  };
  /** Off: its CRD does not exist before Karpenter runs; ClusterServices declares one after the monitoring stack. */
  serviceMonitor: { enabled: false };
}

export interface KarpenterValuesInput {
  clusterName: string;
  clusterEndpoint: string;
  interruptionQueueName: string;
  serviceAccountName: string;
}

/**
 * Two controller replicas (leader election) on the system node group, never on the nodes Karpenter
 * manages. `dnsPolicy: Default` lets it start before CoreDNS.
 */
export function karpenterValues(input: KarpenterValuesInput): KarpenterValues {
  return {
    settings: {
      clusterName: input.clusterName,
      clusterEndpoint: input.clusterEndpoint,
      interruptionQueue: input.interruptionQueueName,
    },
    serviceAccount: { create: true, name: input.serviceAccountName },
    replicas: 2,
    ...systemPlacement,
    dnsPolicy: "Default",
    controller: { resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "512Mi" } } },
    serviceMonitor: { enabled: false },
  };
}

export interface Ec2NodeClassInput {
  nodeRoleName: string;
  /**
   * `al2023@v<YYYYMMDD>` pins the EKS-optimized AMI release; Karpenter recommends against `@latest`
   * outside pre-production (karpenter.sh/docs/tasks/managing-amis). From `parley:karpenterAmiAlias`.
   */
  amiAlias: string;
  /** Tags that part 1 puts on the private subnets and the node security group for discovery. */
  discoveryTags: Record<string, string>;
  /** Tags for the instances, volumes and launch templates Karpenter creates. */
  tags: Record<string, string>;
}

export interface Ec2NodeClassSpec {
  role: string;
  amiSelectorTerms: Array<{ alias: string }>;
  subnetSelectorTerms: Array<{ tags: Record<string, string> }>;
  securityGroupSelectorTerms: Array<{ tags: Record<string, string> }>;
  metadataOptions: {
    httpEndpoint: "enabled";
    httpProtocolIPv6: "disabled";
    httpPutResponseHopLimit: number;
    httpTokens: "required";
  };
  blockDeviceMappings: Array<{
    deviceName: string;
    ebs: { volumeSize: string; volumeType: "gp3"; encrypted: true; deleteOnTermination: true };
  }>;
  tags: Record<string, string>;
}

/**
 * AL2023 nodes with IMDSv2 only and a hop limit of 1 (pods cannot reach the node's credentials;
 * they get their own through Pod Identity), encrypted gp3 root volumes.
 */
export function ec2NodeClassSpec(input: Ec2NodeClassInput): Ec2NodeClassSpec {
  return {
    role: input.nodeRoleName,
    amiSelectorTerms: [{ alias: input.amiAlias }],
    subnetSelectorTerms: [{ tags: input.discoveryTags }],
    securityGroupSelectorTerms: [{ tags: input.discoveryTags }],
    metadataOptions: {
      httpEndpoint: "enabled",
      httpProtocolIPv6: "disabled",
      httpPutResponseHopLimit: 1,
      httpTokens: "required",
    },
    blockDeviceMappings: [
      {
        deviceName: "/dev/xvda",
        ebs: { volumeSize: "50Gi", volumeType: "gp3", encrypted: true, deleteOnTermination: true },
      },
    ],
    tags: input.tags,
  };
}
