/**
 * The EKS cluster: API authentication with access entries, KMS envelope encryption of Secrets,
 * control-plane logs, a private endpoint plus a public one limited to configured CIDRs, a small
 * managed node group (AL2023, IMDSv2 with hop limit 1) for system pods, the managed add-ons, and the
 * ECR repository the app's images live in.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType, type Naming } from "../naming";
import type { DataProtection } from "../profile";
import { architectureOf } from "../scaling/instances";
import type { NodePolicy } from "../scaling/policy";
import { karpenterDiscoveryTags } from "./karpenter-aws";
import { rotatingKmsKey } from "./rotating-key";
import { ServiceIdentity } from "./service-identity";

export interface ClusterArgs {
  stack: StackName;
  clusterName: string;
  kubernetesVersion: string;
  region: string;
  /** Nodes and the control plane's network interfaces go in the private subnets. */
  privateSubnetIds: pulumi.Input<string>[];
  publicAccessCidrs: string[];
  adminPrincipalArns: string[];
  /** Read-only access entries: AmazonEKSViewPolicy (no Secrets) and AmazonEKSAdminViewPolicy (Secrets too). */
  viewerPrincipalArns?: string[];
  auditorPrincipalArns?: string[];
  logRetentionDays: number;
  /** Deletion protection of the cluster; whether a destroy also deletes the ECR repository's images. */
  protection: DataProtection;
  /** The system node group's size and instance type (from the scaling policy). */
  systemNodes: NodePolicy["system"];
  ecrRepositoryName: string;
}

/** Taint and label of the system node group: only pods that tolerate CriticalAddonsOnly land there. */
export const systemNodeTaint = { key: "CriticalAddonsOnly", value: "true", effect: "NoSchedule" } as const;
export const systemNodeLabel = { key: "parley.io/node-group", value: "system" } as const;

export const controlPlaneLogTypes = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

const awsManagedPolicy = (name: string) => `arn:aws:iam::aws:policy/${name}`;

/** The AL2023 EKS AMI for an instance type's architecture. */
export function amiTypeFor(instanceType: string): string {
  return architectureOf(instanceType.split(".")[0]) === "arm64"
    ? "AL2023_ARM_64_STANDARD"
    : "AL2023_x86_64_STANDARD";
}

/** A kubeconfig that authenticates with `aws eks get-token` (the caller's AWS credentials). */
export function renderKubeconfig(cluster: {
  name: string;
  endpoint: string;
  certificateAuthority: string;
  region: string;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster.name,
        cluster: { server: cluster.endpoint, "certificate-authority-data": cluster.certificateAuthority },
      },
    ],
    contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: cluster.name } }],
    "current-context": cluster.name,
    users: [
      {
        name: cluster.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: [
              "eks",
              "get-token",
              "--cluster-name",
              cluster.name,
              "--region",
              cluster.region,
              "--output",
              "json",
            ],
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

export class Cluster extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly certificateAuthority: pulumi.Output<string>;
  /** The security group EKS attaches to the control plane and every node (managed and Karpenter's). */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** Secret: a kubeconfig for the cluster. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly ecrRepositoryUrl: pulumi.Output<string>;
  /** Admin access, nodes and the add-ons that need them: depend on these before installing anything in the cluster. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Cluster"), name, {}, opts);
    const n = componentNaming(name, args.stack, "cluster");
    const parent = { parent: this };

    const secretsKey = rotatingKmsKey(
      n,
      "secrets-key",
      `Envelope encryption of Kubernetes Secrets in ${args.clusterName}`,
      parent,
    );
    new aws.kms.Alias(
      n.name("secrets-key-alias"),
      { name: `alias/${args.clusterName}-secrets`, targetKeyId: secretsKey.keyId },
      parent,
    );

    // EKS writes control-plane logs to this group; creating it first sets the retention.
    const logGroup = new aws.cloudwatch.LogGroup(
      n.name("logs"),
      {
        name: `/aws/eks/${args.clusterName}/cluster`,
        retentionInDays: args.logRetentionDays,
        tags: n.tags(),
      },
      parent,
    );

    const clusterRole = new aws.iam.Role(
      n.name("role"),
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "eks.amazonaws.com" },
              Action: ["sts:AssumeRole", "sts:TagSession"],
            },
          ],
        }),
        tags: n.tags(),
      },
      parent,
    );
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      n.name("role-policy"),
      { role: clusterRole.name, policyArn: awsManagedPolicy("AmazonEKSClusterPolicy") },
      parent,
    );

    const cluster = new aws.eks.Cluster(
      n.name("eks"),
      {
        name: args.clusterName,
        version: args.kubernetesVersion,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: args.privateSubnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: true,
          publicAccessCidrs: args.publicAccessCidrs,
        },
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
        encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
        enabledClusterLogTypes: controlPlaneLogTypes,
        // The add-ons below are EKS-managed; don't also install the self-managed defaults.
        bootstrapSelfManagedAddons: false,
        upgradePolicy: { supportType: "STANDARD" },
        deletionProtection: args.protection.deletionProtection,
        tags: n.tags(karpenterDiscoveryTags(args.clusterName)),
      },
      { parent: this, dependsOn: [logGroup, clusterPolicy] },
    );
    this.clusterName = cluster.name;
    this.endpoint = cluster.endpoint;
    this.certificateAuthority = cluster.certificateAuthority.apply((ca) => ca.data ?? "");
    this.clusterSecurityGroupId = cluster.vpcConfig.apply((vpc) => vpc.clusterSecurityGroupId ?? "");

    // Karpenter selects the security group for its nodes by this tag.
    for (const [key, value] of Object.entries(karpenterDiscoveryTags(args.clusterName))) {
      new aws.ec2.Tag(
        n.name("sg-discovery-tag"),
        { resourceId: this.clusterSecurityGroupId, key, value },
        parent,
      );
    }

    const adminAccess = args.adminPrincipalArns.map((principalArn, index) => {
      const entry = new aws.eks.AccessEntry(
        n.name("admin", String(index)),
        { clusterName: cluster.name, principalArn, type: "STANDARD", tags: n.tags() },
        parent,
      );
      return new aws.eks.AccessPolicyAssociation(
        n.name("admin", String(index), "policy"),
        {
          clusterName: cluster.name,
          principalArn: entry.principalArn,
          policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
          accessScope: { type: "cluster" },
        },
        parent,
      );
    });

    // Read-only pipeline roles: EKS access policies (docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html).
    const readOnlyAccess = (principalArns: string[], kind: string, policy: string) =>
      principalArns.map((principalArn, index) => {
        const entry = new aws.eks.AccessEntry(
          n.name(kind, String(index)),
          { clusterName: cluster.name, principalArn, type: "STANDARD", tags: n.tags() },
          parent,
        );
        return new aws.eks.AccessPolicyAssociation(
          n.name(kind, String(index), "policy"),
          {
            clusterName: cluster.name,
            principalArn: entry.principalArn,
            policyArn: `arn:aws:eks::aws:cluster-access-policy/${policy}`,
            accessScope: { type: "cluster" },
          },
          parent,
        );
      });
    readOnlyAccess(args.viewerPrincipalArns ?? [], "viewer", "AmazonEKSViewPolicy");
    readOnlyAccess(args.auditorPrincipalArns ?? [], "auditor", "AmazonEKSAdminViewPolicy");

    // Add-ons that run as DaemonSets go in before nodes, so a node is Ready as soon as it joins.
    // Each add-on's version is the one EKS names the default for the cluster's Kubernetes version
    // (DescribeAddonVersions; `aws.eks.getAddonVersion` without mostRecent), an explicit input: raising
    // kubernetesVersion shows every add-on's new version in the preview and updates it after the
    // control plane, in dependency order (control plane, then these, then the nodes, then the rest).
    const addon = (
      addonName: string,
      extra: Partial<aws.eks.AddonArgs> = {},
      dependsOn: pulumi.Resource[] = [],
    ) =>
      new aws.eks.Addon(
        n.name("addon", addonName),
        {
          clusterName: cluster.name,
          addonName,
          addonVersion: aws.eks
            .getAddonVersionOutput({ addonName, kubernetesVersion: args.kubernetesVersion }, parent)
            .apply((resolved) => resolved.version),
          resolveConflictsOnCreate: "OVERWRITE",
          resolveConflictsOnUpdate: "OVERWRITE",
          tags: n.tags(),
          ...extra,
        },
        { parent: this, dependsOn },
      );
    const vpcCni = addon("vpc-cni", {
      // Prefix delegation: a /28 per ENI slot, so pod density is not capped by ENI addresses.
      // enableNetworkPolicy: the CNI's agent enforces the workload's NetworkPolicies (else ignored).
      configurationValues: JSON.stringify({
        env: { ENABLE_PREFIX_DELEGATION: "true", WARM_PREFIX_TARGET: "1" },
        enableNetworkPolicy: "true",
      }),
    });
    const kubeProxy = addon("kube-proxy");
    const podIdentityAgent = addon("eks-pod-identity-agent");

    const nodeGroup = this.createSystemNodeGroup(n, args, cluster, [vpcCni, kubeProxy, podIdentityAgent]);

    // Deployments need a node to schedule on: CoreDNS created before nodes exist fails the first apply.
    const coredns = addon("coredns", {}, [nodeGroup]);
    const ebsCsiIdentity = new ServiceIdentity(
      n.name("ebs-csi"),
      {
        stack: args.stack,
        identity: "ebs-csi",
        clusterName: cluster.name,
        namespace: "kube-system",
        serviceAccount: "ebs-csi-controller-sa",
        managedPolicyArns: [awsManagedPolicy("service-role/AmazonEBSCSIDriverPolicy")],
      },
      parent,
    );
    const ebsCsi = addon("aws-ebs-csi-driver", {}, [nodeGroup, podIdentityAgent, ebsCsiIdentity]);
    // Whoever runs the program reaches the Kubernetes API through its admin access entry.
    this.ready = [...adminAccess, nodeGroup, coredns, ebsCsi];

    const repository = new aws.ecr.Repository(
      n.name("ecr"),
      {
        name: args.ecrRepositoryName,
        // Every stack deploys by digest; a pushed tag never moves (a re-run finds it and skips the push).
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        forceDelete: args.protection.forceDestroyContents,
        tags: n.tags(),
      },
      parent,
    );
    new aws.ecr.LifecyclePolicy(
      n.name("ecr-lifecycle"),
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: "Expire untagged images after 7 days",
              selection: {
                tagStatus: "untagged",
                countType: "sinceImagePushed",
                countUnit: "days",
                countNumber: 7,
              },
              action: { type: "expire" },
            },
            {
              rulePriority: 2,
              description: "Keep the newest 200 images",
              selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 200 },
              action: { type: "expire" },
            },
          ],
        }),
      },
      parent,
    );
    this.ecrRepositoryUrl = repository.repositoryUrl;

    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, this.certificateAuthority])
        .apply(([clusterName, endpoint, certificateAuthority]) =>
          renderKubeconfig({ name: clusterName, endpoint, certificateAuthority, region: args.region }),
        ),
    );

    this.registerOutputs({
      clusterName: this.clusterName,
      endpoint: this.endpoint,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      kubeconfig: this.kubeconfig,
      ecrRepositoryUrl: this.ecrRepositoryUrl,
    });
  }

  private createSystemNodeGroup(
    n: Naming,
    args: ClusterArgs,
    cluster: aws.eks.Cluster,
    dependsOn: pulumi.Resource[],
  ): aws.eks.NodeGroup {
    const parent = { parent: this };
    const role = new aws.iam.Role(
      n.name("system-node-role"),
      {
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
        tags: n.tags(),
      },
      parent,
    );
    const attachments = [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryPullOnly",
      "AmazonSSMManagedInstanceCore",
    ].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          n.name("system-node-role", policy.toLowerCase().replace(/_/g, "-")),
          { role: role.name, policyArn: awsManagedPolicy(policy) },
          parent,
        ),
    );

    const launchTemplate = new aws.ec2.LaunchTemplate(
      n.name("system-nodes-lt"),
      {
        description: "System node group: IMDSv2 only, hop limit 1 (pods cannot reach the node's credentials)",
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: "disabled",
        },
        blockDeviceMappings: [
          {
            deviceName: "/dev/xvda",
            ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
          },
        ],
        tagSpecifications: [
          { resourceType: "instance", tags: n.tags({ Name: n.name("system-node") }) },
          { resourceType: "volume", tags: n.tags() },
        ],
        tags: n.tags(),
      },
      parent,
    );

    const system = args.systemNodes;
    return new aws.eks.NodeGroup(
      n.name("system-nodes"),
      {
        clusterName: cluster.name,
        nodeRoleArn: role.arn,
        subnetIds: args.privateSubnetIds,
        amiType: amiTypeFor(system.instanceType),
        // Without it the group stays on the version it was created with when the control plane moves
        // on; with it, raising kubernetesVersion rolls the nodes to that version's AMI after the control plane.
        version: args.kubernetesVersion,
        capacityType: "ON_DEMAND",
        instanceTypes: [system.instanceType],
        scalingConfig: { minSize: system.minSize, desiredSize: system.desiredSize, maxSize: system.maxSize },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: {
          id: launchTemplate.id,
          version: pulumi.interpolate`${launchTemplate.latestVersion}`,
        },
        labels: { [systemNodeLabel.key]: systemNodeLabel.value },
        taints: [{ key: systemNodeTaint.key, value: systemNodeTaint.value, effect: "NO_SCHEDULE" }],
        tags: n.tags(),
      },
      { parent: this, dependsOn: [...dependsOn, ...attachments] },
    );
  }
}
