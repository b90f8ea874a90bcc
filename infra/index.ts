/**
 * The Parley Pulumi program: composition only. Each concern is one ComponentResource under
 * infra/components/; the stack config is validated before anything is declared, and capacity
 * numbers come from the scaling policy (infra/scaling/).
 *
 * The module exports one async function (Pulumi's nodejs runtime calls it; its result is the stack's
 * outputs), so nothing runs at import time and ESM-only packages can be loaded with `await import()`.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertmanagerShipment } from "../observability/alertmanager/shipment";
import { renderObservability } from "../observability/render";
import { Cache } from "./components/cache";
import { Cluster } from "./components/cluster";
import { ClusterServices } from "./components/cluster-services";
import { controllerServiceAccounts } from "./components/cluster-services/controllers";
import {
  cloudwatchExporterPolicy,
  cloudwatchExporterServiceAccount,
} from "./components/cluster-services/exporters";
import { monitoringNamespace } from "./components/cluster-services/monitoring";
import { ContainerLogs } from "./components/container-logs";
import { Database } from "./components/database";
import { DatabaseRoles } from "./components/database-roles";
import { Edge, PublicDnsRecord, verifyCloudflareIpRanges } from "./components/edge";
import { KarpenterAws } from "./components/karpenter-aws";
import { loadBalancerControllerPolicy } from "./components/load-balancer-controller-aws";
import { Network } from "./components/network";
import { Observability } from "./components/observability";
import { ServiceIdentity, secretReaderPolicy } from "./components/service-identity";
import { planSubnets } from "./components/subnet-plan";
import { appServiceAccount, Workload } from "./components/workload";
import { alertReceiverKeys, loadStackConfig, type StackConfig } from "./config";
import { resourceName } from "./naming";
import { stackProfile } from "./profile";
import { assertScalingInvariants } from "./scaling/invariants";
import type { ScalingPolicy } from "./scaling/policy";

/**
 * The configured image, pinned by digest; it must exist before anything runs it (a migration Job or
 * Deployment pointing at a missing tag waits for an image nobody pushed). `aws.ecr.getImage` fails
 * (ImageNotFoundException, RepositoryNotFoundException) when the tag or the repository is missing,
 * and as an invoke it answers during preview too, so the reference is known before the update.
 */
async function resolveImage(
  repositoryName: string,
  imageTag: string,
  region: string,
  recordedDigest: string | undefined,
): Promise<string> {
  let image: aws.ecr.GetImageResult;
  try {
    image = await aws.ecr.getImage({ repositoryName, imageTag });
  } catch (error) {
    throw new pulumi.RunError(
      `parley:imageTag = ${JSON.stringify(imageTag)} names no image in ECR repository "${repositoryName}" (${(error as Error).message}). Push it first (app-release), or leave parley:imageTag unset to deploy the platform stage.`,
    );
  }
  // The pipeline records the digest it scanned and signed; the tag must still name that image.
  if (recordedDigest && recordedDigest !== image.imageDigest) {
    throw new pulumi.RunError(
      `parley:imageDigest = ${JSON.stringify(recordedDigest)} is not the digest of ${repositoryName}:${imageTag} in ECR (${image.imageDigest}): the release PR sets both together`,
    );
  }
  return `${image.registryId}.dkr.ecr.${region}.amazonaws.com/${repositoryName}:${imageTag}@${image.imageDigest}`;
}

interface AppDependencies {
  config: StackConfig;
  imageTag: string;
  /** The image reference, pinned by digest. */
  image: string;
  provider: k8s.Provider;
  policy: ScalingPolicy;
  network: Network;
  database: Database;
  databaseRoles: DatabaseRoles;
  cache: Cache;
  edge: Edge;
  clusterServices: ClusterServices;
  rendered: ReturnType<typeof renderObservability>;
}

/** The app workload, its rules, dashboards and ServiceMonitor, and the public DNS record. */
function declareApp(deps: AppDependencies): Workload {
  const { config, network, database, databaseRoles, cache, edge, clusterServices, policy } = deps;
  const { stack } = config;
  const workload = new Workload(resourceName(stack, "workload"), {
    provider: deps.provider,
    policy,
    image: deps.image,
    app: {
      logLevel: config.logLevel,
      rateLimits: config.appRateLimits,
      aiProvider: config.aiProvider,
      openai:
        config.aiProvider === "openai" && config.openai.apiKey
          ? { baseUrl: config.openai.baseUrl, model: config.openai.model, apiKey: config.openai.apiKey }
          : undefined,
      version: deps.imageTag,
    },
    publicHost: config.publicHost,
    certificateArn: edge.certificateArn,
    loadBalancerSecurityGroupId: edge.loadBalancerSecurityGroupId,
    originTrustStoreArn: edge.originTrustStoreArn,
    network: { vpcCidr: network.vpcCidr, loadBalancerSubnetCidrs: network.subnetCidrs.public },
    database: {
      primaryHost: database.primaryEndpoint,
      replicaHosts: database.replicaEndpoints,
      port: database.port,
      name: database.databaseName,
      master: { username: database.username, password: database.password },
      app: databaseRoles.app,
      exporterPassword: databaseRoles.exporter.password,
    },
    cache: { host: cache.primaryEndpoint, port: cache.port, authToken: cache.authToken },
    nodePoolName: clusterServices.nodePoolName,
    monitoringNamespace: clusterServices.monitoringNamespace,
    dependsOn: [clusterServices.loadBalancerController],
  });

  new Observability(resourceName(stack, "observability"), {
    provider: deps.provider,
    stack,
    rendered: deps.rendered,
    monitoringNamespace: clusterServices.monitoringNamespace,
    app: workload.scrapeTarget,
    dependsOn: [clusterServices.monitoringStack, ...workload.readiness],
  });

  // The ingress load balancer is the CDN's origin.
  new PublicDnsRecord(resourceName(stack, "public-dns"), {
    stack,
    publicHost: config.publicHost,
    cloudflareZoneId: config.cloudflareZoneId,
    originHostname: workload.loadBalancerHostname,
  });

  return workload;
}

async function main() {
  const config = loadStackConfig();
  const { stack } = config;
  const profile = stackProfile(config);
  const policy = profile.scaling;
  const clusterName = resourceName(stack);
  // Before any resource is declared: a missing image stops the update instead of leaving a Job waiting.
  const image = config.imageTag
    ? await resolveImage(config.ecrRepositoryName, config.imageTag, config.region, config.imageDigest)
    : undefined;
  // The policy must hold in this stack's context (AZs, pod subnets, region) before anything is declared.
  assertScalingInvariants(policy, {
    availabilityZones: config.availabilityZones,
    podSubnets: planSubnets(config.vpcCidr, config.availabilityZones).private.map((cidrBlock, index) => ({
      availabilityZone: `zone-${index + 1}`,
      cidrBlock,
    })),
    region: config.region,
  });
  // The load balancer admits only the vendored Cloudflare ranges: they must still be the published ones.
  await verifyCloudflareIpRanges();

  const network = new Network(resourceName(stack, "network"), {
    stack,
    vpcCidr: config.vpcCidr,
    availabilityZones: config.availabilityZones,
    natGateways: config.natGateways,
    clusterName,
    logRetentionDays: profile.logRetentionDays,
  });

  const cluster = new Cluster(resourceName(stack, "cluster"), {
    stack,
    clusterName,
    kubernetesVersion: config.kubernetesVersion,
    region: config.region,
    privateSubnetIds: network.privateSubnetIds,
    publicAccessCidrs: config.clusterApiAllowedCidrs,
    adminPrincipalArns: config.clusterAdminPrincipalArns,
    viewerPrincipalArns: config.clusterViewerPrincipalArns,
    auditorPrincipalArns: config.clusterAuditorPrincipalArns,
    logRetentionDays: profile.logRetentionDays,
    protection: profile.protection,
    systemNodes: policy.nodes.system,
    ecrRepositoryName: config.ecrRepositoryName,
  });

  const karpenterAws = new KarpenterAws(resourceName(stack, "karpenter"), {
    stack,
    clusterName: cluster.clusterName,
    region: config.region,
    controller: {
      namespace: controllerServiceAccounts.karpenter.namespace,
      serviceAccount: controllerServiceAccounts.karpenter.name,
    },
    createSpotServiceLinkedRole:
      policy.nodes.karpenter.capacityTypes.includes("spot") && config.spotServiceLinkedRole === "create",
  });

  const loadBalancerControllerIdentity = new ServiceIdentity(resourceName(stack, "lb-controller"), {
    stack,
    identity: "lb-controller",
    clusterName: cluster.clusterName,
    namespace: controllerServiceAccounts.awsLoadBalancerController.namespace,
    serviceAccount: controllerServiceAccounts.awsLoadBalancerController.name,
    policies: { policy: loadBalancerControllerPolicy() },
  });

  const database = new Database(resourceName(stack, "database"), {
    stack,
    vpcId: network.vpcId,
    subnetIds: network.dataSubnetIds,
    availabilityZoneNames: network.availabilityZoneNames,
    clientSecurityGroupId: cluster.clusterSecurityGroupId,
    databaseName: config.databaseName,
    profile: profile.database,
    protection: profile.protection,
    policy,
  });

  const databaseRoles = new DatabaseRoles(resourceName(stack, "database-roles"), {
    stack,
    kmsKeyArn: database.kmsKeyArn,
    primaryHost: database.primaryEndpoint,
    port: database.port,
    databaseName: database.databaseName,
    protection: profile.protection,
  });

  const cache = new Cache(resourceName(stack, "cache"), {
    stack,
    vpcId: network.vpcId,
    subnetIds: network.dataSubnetIds,
    availabilityZoneNames: network.availabilityZoneNames,
    clientSecurityGroupId: cluster.clusterSecurityGroupId,
    policy: policy.cache,
    profile: profile.cache,
    protection: profile.protection,
    logRetentionDays: profile.logRetentionDays,
  });

  new ServiceIdentity(resourceName(stack, "app-identity"), {
    stack,
    identity: "app",
    clusterName: cluster.clusterName,
    namespace: appServiceAccount.namespace,
    serviceAccount: appServiceAccount.name,
    policies: {
      "read-credentials": secretReaderPolicy(
        [databaseRoles.app.secretArn, cache.authTokenSecretArn],
        [database.kmsKeyArn, cache.kmsKeyArn],
      ),
    },
  });

  // The CloudWatch exporter in the monitoring namespace reads RDS and ElastiCache metrics.
  new ServiceIdentity(resourceName(stack, "cloudwatch-exporter-identity"), {
    stack,
    identity: "cloudwatch-exporter",
    clusterName: cluster.clusterName,
    namespace: monitoringNamespace,
    serviceAccount: cloudwatchExporterServiceAccount,
    policies: { "read-cloudwatch": cloudwatchExporterPolicy },
  });

  const edge = new Edge(resourceName(stack, "edge"), {
    stack,
    publicHost: config.publicHost,
    cloudflareZoneId: config.cloudflareZoneId,
    zonePlan: config.cloudflareZonePlan,
    zoneOwner: config.cloudflareZoneOwner,
    edgeRateLimits: config.edgeRateLimits,
    vpcId: network.vpcId,
    vpcCidr: network.vpcCidr,
    apiRateLimitPerMinute: config.apiRateLimitPerMinute,
    loginRateLimitPerMinute: config.loginRateLimitPerMinute,
  });

  // In the cluster: every Kubernetes object waits for the nodes, the add-ons and the controllers' IAM.
  const kubernetes = new k8s.Provider(
    resourceName(stack, "kubernetes"),
    // Client-side apply: a server-side-apply preview is a dry-run patch, which Kubernetes authorizes
    // like a real one (pulumi/pulumi-kubernetes#2213), so the read-only preview and plan roles could
    // not preview. The plan and the up use the same mode, so `pulumi up --plan` matches its preview.
    { kubeconfig: cluster.kubeconfig, enableServerSideApply: false },
    { dependsOn: [...cluster.ready, karpenterAws, loadBalancerControllerIdentity] },
  );
  const rendered = renderObservability({ aiMonthlyBudgetUsd: config.aiMonthlyBudgetUsd });
  const alertmanager = alertmanagerShipment(rendered, config.alertReceivers);
  if (!alertmanager.notifies) {
    pulumi.log.warn(
      `${alertReceiverKeys.join(", ")} are unset: Alertmanager runs the routes with receivers that notify nobody (no page, no ticket, no dead man's switch)`,
    );
  }
  const clusterServices = new ClusterServices(resourceName(stack, "cluster-services"), {
    provider: kubernetes,
    stack,
    policy,
    cluster: {
      name: cluster.clusterName,
      endpoint: cluster.endpoint,
      region: config.region,
      vpcId: network.vpcId,
    },
    karpenter: {
      nodeRoleName: karpenterAws.nodeRoleName,
      interruptionQueueName: karpenterAws.interruptionQueueName,
      amiAlias: config.karpenterAmiAlias,
      discoveryTags: karpenterAws.discoveryTags,
    },
    monitoring: {
      ...profile.monitoring,
      alertmanagerConfig: alertmanager.config,
      alertmanagerSecretFiles: alertmanager.secretFiles,
    },
    // Once the app image exists: its migration Job creates the exporter's role, and it ships the CA bundle.
    postgresExporter: image
      ? {
          appImage: image,
          host: database.primaryEndpoint,
          port: database.port,
          name: database.databaseName,
          username: databaseRoles.exporter.username,
          password: databaseRoles.exporter.password,
        }
      : undefined,
    cache: { host: cache.primaryEndpoint, port: cache.port, authToken: cache.authToken },
  });

  new ContainerLogs(resourceName(stack, "container-logs"), {
    stack,
    clusterName,
    kubernetesVersion: config.kubernetesVersion,
    region: config.region,
    logRetentionDays: profile.logRetentionDays,
    provider: kubernetes,
    monitoringNamespace: clusterServices.monitoringNamespace,
    dependsOn: cluster.ready,
  });

  // The app runs only once its image exists: a first deploy on an empty account declares the
  // platform (parley:imageTag unset), app-release pushes the first image, then its PR sets the tag.
  if (config.imageTag && image) {
    declareApp({
      config,
      imageTag: config.imageTag,
      image,
      provider: kubernetes,
      policy,
      network,
      database,
      databaseRoles,
      cache,
      edge,
      clusterServices,
      rendered,
    });
  } else {
    pulumi.log.warn(
      "parley:imageTag is unset: the platform stage of a first deploy. The app workload, its rules, dashboards and ServiceMonitor, and the public DNS record are declared once app-release has pushed an image and parley:imageTag names it (docs/deploying.md)",
    );
  }

  return {
    publicUrl: edge.publicUrl,
    dbPrimaryEndpoint: database.primaryEndpoint,
    dbReaderEndpoint: database.readerEndpoint,
    redisEndpoint: cache.primaryEndpoint,
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    ecrRepositoryUrl: cluster.ecrRepositoryUrl,
    grafanaUrl: clusterServices.access.grafana.url,
    grafanaAdminPassword: clusterServices.grafanaAdminPassword,
    monitoring: clusterServices.access,
  };
}

export = main;
