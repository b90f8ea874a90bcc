import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { resourceByUrn, resourceNamed, resourcesOfType, reveal } from "../../tests/support/infra/resources";
import { isSecret, type ProgramRun, runProgram } from "../offline-runner/runner";
import { scalingPolicyFor } from "../scaling/policy";
import { amiTypeFor } from "./cluster";
import { loadKarpenterTemplate, resolveIntrinsics } from "./karpenter-aws";
import { loadBalancerControllerPolicyPath } from "./load-balancer-controller-aws";

let prod: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
  dev = await runProgram({ stack: "dev" });
});

const eks = (run: ProgramRun) => resourceNamed(run, "aws:eks/cluster:Cluster", "cluster-eks");
const addon = (run: ProgramRun, name: string) =>
  resourceNamed(run, "aws:eks/addon:Addon", "cluster-addon", name);
const nodeGroup = (run: ProgramRun) =>
  resourceNamed(run, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes");

describe("Cluster", () => {
  it("uses API authentication, KMS envelope encryption of Secrets and every control-plane log", () => {
    const cluster = eks(prod);
    const key = resourceNamed(prod, "aws:kms/key:Key", "cluster-secrets-key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(cluster.inputs).toMatchObject({
      name: "parley-prod",
      version: "1.35",
      accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
      encryptionConfig: { provider: { keyArn: key.outputs.arn }, resources: ["secrets"] },
      enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
      deletionProtection: true,
    });
    expect(eks(dev).inputs.deletionProtection).toBe(false);
  });

  it("has a private endpoint and a public one limited to the configured CIDRs, in the private subnets", () => {
    const privateSubnetIds = resourcesOfType(prod, "aws:ec2/subnet:Subnet")
      .filter((subnet) => subnet.name.includes("network-private"))
      .map((subnet) => subnet.outputs.id);
    expect(eks(prod).inputs.vpcConfig).toEqual({
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ["203.0.113.0/24"],
      subnetIds: privateSubnetIds,
    });
  });

  it("tags the cluster security group, which every node gets, for Karpenter's discovery", () => {
    const tag = resourceNamed(prod, "aws:ec2/tag:Tag", "cluster-sg-discovery-tag");
    expect(tag.inputs).toEqual({
      resourceId: (eks(prod).outputs.vpcConfig as { clusterSecurityGroupId: string }).clusterSecurityGroupId,
      key: "karpenter.sh/discovery",
      value: "parley-prod",
    });
  });

  it("grants cluster-admin to the configured principals through access entries", () => {
    const entry = resourceNamed(prod, "aws:eks/accessEntry:AccessEntry", "cluster-admin-0");
    expect(entry.inputs).toMatchObject({
      principalArn: "arn:aws:iam::123456789012:role/parley-platform-admin",
      type: "STANDARD",
    });
    expect(
      resourceNamed(prod, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "cluster-admin-0-policy")
        .inputs,
    ).toMatchObject({
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
      accessScope: { type: "cluster" },
    });
  });

  it("gives the pipeline's read-only roles view access: Secrets only to the main-branch plan role", () => {
    const policyOf = (name: string) =>
      resourceNamed(prod, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", name).inputs;
    expect(
      resourceNamed(prod, "aws:eks/accessEntry:AccessEntry", "cluster-viewer-0").inputs.principalArn,
    ).toBe("arn:aws:iam::123456789012:role/parley-prod-preview");
    expect(policyOf("cluster-viewer-0-policy")).toMatchObject({
      policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
      accessScope: { type: "cluster" },
    });
    expect(
      resourceNamed(prod, "aws:eks/accessEntry:AccessEntry", "cluster-auditor-0").inputs.principalArn,
    ).toBe("arn:aws:iam::123456789012:role/parley-prod-plan");
    expect(policyOf("cluster-auditor-0-policy").policyArn).toBe(
      "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy",
    );
  });

  it.each(["prod", "dev"] as const)("sizes the %s system node group from the scaling policy", (stack) => {
    const run = stack === "prod" ? prod : dev;
    const { system } = scalingPolicyFor(stack).nodes;
    expect(nodeGroup(run).inputs).toMatchObject({
      instanceTypes: [system.instanceType],
      scalingConfig: { minSize: system.minSize, desiredSize: system.desiredSize, maxSize: system.maxSize },
      amiType: "AL2023_x86_64_STANDARD",
      taints: [{ key: "CriticalAddonsOnly", value: "true", effect: "NO_SCHEDULE" }],
    });
  });

  it("launches system nodes with IMDSv2 only and a hop limit of 1", () => {
    const template = resourceNamed(prod, "aws:ec2/launchTemplate:LaunchTemplate", "cluster-system-nodes-lt");
    expect(template.inputs.metadataOptions).toMatchObject({
      httpTokens: "required",
      httpPutResponseHopLimit: 1,
    });
    expect((nodeGroup(prod).inputs.launchTemplate as { id: string }).id).toBe(template.outputs.id);
  });

  it("installs vpc-cni, kube-proxy and the pod identity agent before nodes, CoreDNS and EBS CSI after", () => {
    const nodes = nodeGroup(prod);
    for (const name of ["vpc-cni", "kube-proxy", "eks-pod-identity-agent"]) {
      expect(nodes.dependencies).toContain(addon(prod, name).urn);
    }
    for (const name of ["coredns", "aws-ebs-csi-driver"]) {
      expect(addon(prod, name).dependencies).toContain(nodes.urn);
    }
    // The five the cluster needs, and the CloudWatch Observability add-on that ships container logs.
    expect(
      resourcesOfType(prod, "aws:eks/addon:Addon")
        .map((a) => a.inputs.addonName)
        .sort(),
    ).toEqual([
      "amazon-cloudwatch-observability",
      "aws-ebs-csi-driver",
      "coredns",
      "eks-pod-identity-agent",
      "kube-proxy",
      "vpc-cni",
    ]);
  });

  it("moves the node group and every add-on with kubernetesVersion, each add-on pinned to the version EKS resolves for it", async () => {
    const addons = (run: ProgramRun) =>
      Object.fromEntries(
        resourcesOfType(run, "aws:eks/addon:Addon").map((a) => [a.inputs.addonName, a.inputs.addonVersion]),
      );
    expect(eks(prod).inputs.version).toBe("1.35");
    expect(nodeGroup(prod).inputs.version).toBe("1.35");
    const before = addons(prod);
    for (const version of Object.values(before)) expect(version).toMatch(/^v1\.35\.\d+-eksbuild\.1$/);

    const upgraded = await runProgram({ stack: "prod", config: { "parley:kubernetesVersion": "1.36" } });
    expect(eks(upgraded).inputs.version).toBe("1.36");
    expect(nodeGroup(upgraded).inputs.version).toBe("1.36");
    const after = addons(upgraded);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    const addonNamed = (run: ProgramRun, name: string) =>
      resourcesOfType(run, "aws:eks/addon:Addon").find((a) => a.inputs.addonName === name);
    for (const [name, version] of Object.entries(after)) {
      expect(version, name).toMatch(/^v1\.36\.\d+-eksbuild\.1$/);
      // Updated after the control plane: each waits for the cluster, or for the nodes that do.
      const dependencies = addonNamed(upgraded, name)?.dependencies ?? [];
      expect(
        dependencies.includes(eks(upgraded).urn) || dependencies.includes(nodeGroup(upgraded).urn),
        name,
      ).toBe(true);
    }
    expect(nodeGroup(upgraded).dependencies).toContain(eks(upgraded).urn);
  });

  it("makes the Kubernetes provider wait for admin access, the nodes and the add-ons that need them", () => {
    const [provider] = resourcesOfType(prod, "pulumi:providers:kubernetes");
    for (const ready of [
      resourceNamed(
        prod,
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "cluster-admin-0-policy",
      ),
      nodeGroup(prod),
      addon(prod, "coredns"),
      addon(prod, "aws-ebs-csi-driver"),
    ]) {
      expect(provider.dependencies).toContain(ready.urn);
    }
  });

  it("keeps the app's images in ECR: immutable tags in every stack, scanned on push", () => {
    const prodRepo = resourceNamed(prod, "aws:ecr/repository:Repository", "cluster-ecr");
    expect(prodRepo.inputs).toMatchObject({
      name: "parley-prod",
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
    });
    expect(resourceNamed(dev, "aws:ecr/repository:Repository", "cluster-ecr").inputs.imageTagMutability).toBe(
      "IMMUTABLE",
    );
  });

  it("exports a kubeconfig (as a secret) for the cluster's endpoint and certificate authority", () => {
    expect(isSecret(prod.stackOutputs.kubeconfig)).toBe(true);
    const kubeconfig = JSON.parse(reveal(prod.stackOutputs.kubeconfig) as string);
    const cluster = eks(prod);
    expect(kubeconfig.clusters[0].cluster).toEqual({
      server: cluster.outputs.endpoint,
      "certificate-authority-data": (cluster.outputs.certificateAuthority as { data: string }).data,
    });
    expect(kubeconfig.users[0].user.exec.args).toEqual(
      expect.arrayContaining(["get-token", "--cluster-name", "parley-prod", "--region", "us-east-1"]),
    );
  });

  it("picks the AL2023 AMI for the instance's architecture", () => {
    expect(amiTypeFor("m7i.large")).toBe("AL2023_x86_64_STANDARD");
    expect(amiTypeFor("m7g.large")).toBe("AL2023_ARM_64_STANDARD");
  });
});

describe("Karpenter's AWS side", () => {
  it("has an interruption queue fed by every EventBridge rule of the upstream template", () => {
    const queue = resourceNamed(prod, "aws:sqs/queue:Queue", "karpenter-interruptions");
    expect(queue.inputs).toMatchObject({
      name: "parley-prod",
      messageRetentionSeconds: 300,
      sqsManagedSseEnabled: true,
    });
    const rules = resourcesOfType(prod, "aws:cloudwatch/eventRule:EventRule");
    const sources = rules.map((rule) => JSON.parse(rule.inputs.eventPattern as string)["detail-type"][0]);
    expect(sources).toEqual(
      expect.arrayContaining([
        "AWS Health Event",
        "EC2 Spot Instance Interruption Warning",
        "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification",
      ]),
    );
    const targets = resourcesOfType(prod, "aws:cloudwatch/eventTarget:EventTarget");
    expect(targets).toHaveLength(rules.length);
    for (const target of targets) expect(target.inputs.arn).toBe(queue.outputs.arn);
    const queuePolicy = JSON.parse(
      resourceNamed(prod, "aws:sqs/queuePolicy:QueuePolicy", "karpenter-karpenter-interruption-queue-policy")
        .inputs.policy as string,
    );
    expect(queuePolicy.Statement[0]).toMatchObject({
      Action: "sqs:SendMessage",
      Resource: queue.outputs.arn,
    });
  });

  it("gives Karpenter's nodes a role that joins the cluster through an EC2_LINUX access entry", () => {
    const nodeRole = resourceNamed(prod, "aws:iam/role:Role", "karpenter-node-role");
    expect(
      resourceNamed(prod, "aws:eks/accessEntry:AccessEntry", "karpenter-node-access").inputs,
    ).toMatchObject({
      principalArn: nodeRole.outputs.arn,
      type: "EC2_LINUX",
      clusterName: "parley-prod",
    });
    const attached = resourcesOfType(prod, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
      .filter((attachment) => attachment.inputs.role === nodeRole.outputs.name)
      .map((attachment) => attachment.inputs.policyArn);
    expect(attached).toEqual([
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ]);
  });

  it("grants the controller upstream's policies, fully resolved for this cluster", () => {
    const policies = resourcesOfType(prod, "aws:iam/policy:Policy").filter((policy) =>
      policy.name.startsWith("parley-prod-karpenter-controller-"),
    );
    expect(
      policies.map((policy) => policy.name.replace("parley-prod-karpenter-controller-", "")).sort(),
    ).toEqual([
      "eks-integration-policy",
      "iam-integration-policy",
      "interruption-policy",
      "node-lifecycle-policy",
      "resource-discovery-policy",
      "zonal-shift-policy",
    ]);
    const queue = resourceNamed(prod, "aws:sqs/queue:Queue", "karpenter-interruptions");
    const nodeRole = resourceNamed(prod, "aws:iam/role:Role", "karpenter-node-role");
    const documents = policies.map((policy) => policy.inputs.policy as string);
    for (const document of documents) expect(document).not.toContain("${");
    expect(documents.join("\n")).toContain(queue.outputs.arn as string);
    expect(documents.join("\n")).toContain(nodeRole.outputs.arn as string);
    expect(documents.join("\n")).toContain("arn:aws:eks:us-east-1:123456789012:cluster/parley-prod");
  });

  it("refuses a template that needs a value the program does not provide", () => {
    const unknownVariable = ["$", "{AWS::NotKnown}"].join("");
    expect(() => resolveIntrinsics({ "Fn::Sub": `arn:${unknownVariable}` }, {})).toThrow(
      `the Karpenter template refers to ${unknownVariable}, which the program does not provide`,
    );
    expect(Object.keys(loadKarpenterTemplate().Resources)).toContain("KarpenterInterruptionQueue");
  });
});

describe("Pod Identity", () => {
  const associations = (run: ProgramRun) =>
    Object.fromEntries(
      resourcesOfType(run, "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((association) => [
        `${association.inputs.namespace}/${association.inputs.serviceAccount}`,
        association,
      ]),
    );

  it("associates roles with Karpenter, the load balancer controller, EBS CSI, the CloudWatch exporter and agent, Grafana and the app", () => {
    const byAccount = associations(prod);
    expect(Object.keys(byAccount).sort()).toEqual([
      "amazon-cloudwatch/cloudwatch-agent",
      "kube-system/aws-load-balancer-controller",
      "kube-system/ebs-csi-controller-sa",
      "kube-system/karpenter",
      "monitoring/cloudwatch-exporter",
      "monitoring/kube-prometheus-stack-grafana",
      "parley/parley",
    ]);
    for (const association of Object.values(byAccount)) {
      expect(association.inputs.clusterName).toBe("parley-prod");
      const role = resourcesOfType(prod, "aws:iam/role:Role").find(
        (r) => r.outputs.arn === association.inputs.roleArn,
      );
      const trust = JSON.parse(role?.inputs.assumeRolePolicy as string);
      expect(trust.Statement[0]).toMatchObject({
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      });
    }
  });

  it("gives the load balancer controller upstream's IAM policy unchanged", () => {
    const policy = resourceNamed(prod, "aws:iam/policy:Policy", "lb-controller-policy");
    expect(JSON.parse(policy.inputs.policy as string)).toEqual(
      JSON.parse(readFileSync(loadBalancerControllerPolicyPath, "utf8")),
    );
  });

  it("lets the app read only its own credentials secrets", () => {
    const policy = JSON.parse(
      resourceNamed(prod, "aws:iam/policy:Policy", "app-identity-read-credentials").inputs.policy as string,
    );
    // Its own: the app role's credentials and the Redis token; not the master's nor the exporter's.
    const secrets = [
      resourceNamed(prod, "aws:secretsmanager/secret:Secret", "database-roles", "app"),
      resourceNamed(prod, "aws:secretsmanager/secret:Secret", "cache", "auth-token-secret"),
    ].map((secret) => secret.outputs.arn);
    expect(policy.Statement[0].Resource.sort()).toEqual(secrets.sort());
    expect(policy.Statement[0].Action).toEqual([
      "secretsmanager:GetSecretValue",
      "secretsmanager:DescribeSecret",
    ]);
    const association = associations(prod)["parley/parley"];
    expect(resourceByUrn(prod, association.parent ?? "")?.type).toBe("parley:infra:ServiceIdentity");
  });
});
