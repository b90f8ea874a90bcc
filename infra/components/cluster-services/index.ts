/**
 * Cluster services: everything the app needs from the cluster besides its own workload — node
 * provisioning (Karpenter), load balancing (AWS Load Balancer Controller), resource and custom
 * metrics (metrics-server, prometheus-adapter), monitoring (kube-prometheus-stack) and exporters
 * for RDS and ElastiCache.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { rdsCaBundlePath } from "../../../contracts/database";
import type { StackName } from "../../../contracts/stacks";
import type { SecretFile } from "../../../observability/alertmanager/shipment";
import { componentNaming, componentType, naming } from "../../naming";
import { karpenterNodePoolSpec } from "../../scaling/karpenter";
import type { ScalingPolicy } from "../../scaling/policy";
import { serviceMonitorSpec } from "../observability/service-monitor";
import { postgresUrl } from "../workload/connection-urls";
import { secretDirectory } from "./alertmanager-secrets";
import { type ChartRef, charts } from "./charts";
import { controllerServiceAccounts, loadBalancerControllerValues, metricsServerValues } from "./controllers";
import { loadBalancerControllerCrdsPath, loadCrds } from "./crds";
import {
  cloudwatchExporterValues,
  exporterCaBundleDir,
  postgresExporterSecret,
  postgresExporterValues,
  redisExporterSecret,
  redisExporterValues,
  type SecretKeyRef,
} from "./exporters";
import { appNodePoolName, ec2NodeClassSpec, karpenterMetricsService, karpenterValues } from "./karpenter";
import {
  grafanaAdminKeys,
  kubePrometheusStackValues,
  type MonitoringSizing,
  monitoringAccess,
  monitoringNamespace,
  monitoringReleaseName,
  prometheusAdapterValues,
} from "./monitoring";

export interface ClusterServicesArgs {
  provider: k8s.Provider;
  stack: StackName;
  policy: ScalingPolicy;
  cluster: {
    name: pulumi.Input<string>;
    endpoint: pulumi.Input<string>;
    region: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
  };
  karpenter: {
    nodeRoleName: pulumi.Input<string>;
    interruptionQueueName: pulumi.Input<string>;
    /** The app nodes' AMI alias (`parley:karpenterAmiAlias`). */
    amiAlias: string;
    /** Tags on the private subnets and the node security group that Karpenter selects by. */
    discoveryTags: pulumi.Input<Record<string, string>>;
  };
  monitoring: MonitoringSizing & {
    /** Two Prometheus and two Alertmanager replicas in different zones (infra/profile.ts). */
    highlyAvailable: boolean;
    /** The rendered Alertmanager configuration (observability/render.ts), parsed. */
    alertmanagerConfig: Record<string, unknown>;
    /** The files the config reads receivers' secrets from, with their values. */
    alertmanagerSecretFiles: SecretFile<pulumi.Input<string>>[];
  };
  /**
   * postgres_exporter's connection as its own role, and the app image whose RDS CA bundle it uses.
   * Unset in the platform stage: the role is created by the app image's migration Job.
   */
  postgresExporter?: {
    appImage: pulumi.Input<string>;
    host: pulumi.Input<string>;
    port: pulumi.Input<number>;
    name: pulumi.Input<string>;
    username: pulumi.Input<string>;
    password: pulumi.Input<string>;
  };
  cache: { host: pulumi.Input<string>; port: pulumi.Input<number>; authToken: pulumi.Input<string> };
}

/** The EBS CSI StorageClass for Prometheus and Alertmanager volumes (EKS ships no default one). */
const storageClassName = "gp3";

export class ClusterServices extends pulumi.ComponentResource {
  /** The monitoring stack: its CRDs (ServiceMonitor, PrometheusRule) exist once it is ready. */
  readonly monitoringStack: k8s.helm.v3.Release;
  /** The load balancer controller: Ingresses need its webhook and controller running. */
  readonly loadBalancerController: k8s.helm.v3.Release;
  readonly monitoringNamespace: pulumi.Output<string>;
  readonly nodePoolName: string;
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** URLs and port-forward commands of Prometheus, Alertmanager and Grafana. */
  readonly access = monitoringAccess();

  constructor(name: string, args: ClusterServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    // Its type token was "parley:cluster:ClusterServices": the alias keeps the deployed component and its children.
    super(
      componentType("ClusterServices"),
      name,
      {},
      { ...opts, aliases: [{ type: "parley:cluster:ClusterServices" }, ...(opts?.aliases ?? [])] },
    );
    const names = componentNaming(name, args.stack, "cluster-services");
    const provider = args.provider;
    const child = (extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions => ({
      parent: this,
      provider,
      ...extra,
    });
    const release = (
      releaseName: string,
      chart: ChartRef,
      namespace: pulumi.Input<string>,
      values: pulumi.Input<object>,
      dependsOn: pulumi.Resource[] = [],
      options: { skipCrds?: boolean } = {},
    ) =>
      new k8s.helm.v3.Release(
        names.name(releaseName),
        {
          name: releaseName,
          chart: chart.chart,
          version: chart.version,
          repositoryOpts: chart.repo ? { repo: chart.repo } : undefined,
          namespace,
          values: values as pulumi.Input<Record<string, pulumi.Input<unknown>>>,
          maxHistory: 10,
          cleanupOnFail: true,
          ...(options.skipCrds ? { skipCrds: true } : {}),
        },
        child({ dependsOn }),
      );

    // CRDs first, from sources that upgrade them with the chart (crds.ts); the releases skip their own.
    const karpenterCrds = release(
      "karpenter-crd",
      charts.karpenterCrd,
      controllerServiceAccounts.karpenter.namespace,
      {},
    );
    const loadBalancerControllerCrds = loadCrds(loadBalancerControllerCrdsPath).map(
      (crd) =>
        new k8s.apiextensions.v1.CustomResourceDefinition(
          names.name("crd", crd.metadata.name.replace(/\./g, "-")),
          crd as unknown as k8s.apiextensions.v1.CustomResourceDefinitionArgs,
          child(),
        ),
    );

    const storageClass = new k8s.storage.v1.StorageClass(
      names.name("gp3"),
      {
        metadata: {
          name: storageClassName,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true" },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
      },
      child(),
    );

    // Karpenter first: the other services may need the nodes it provisions.
    const karpenterSa = controllerServiceAccounts.karpenter;
    const karpenter = release(
      "karpenter",
      charts.karpenter,
      karpenterSa.namespace,
      pulumi
        .all([args.cluster.name, args.cluster.endpoint, args.karpenter.interruptionQueueName])
        .apply(([clusterName, clusterEndpoint, interruptionQueueName]) =>
          karpenterValues({
            clusterName,
            clusterEndpoint,
            interruptionQueueName,
            serviceAccountName: karpenterSa.name,
          }),
        ),
      [karpenterCrds],
      { skipCrds: true },
    );
    const nodeClass = new k8s.apiextensions.CustomResource(
      names.name("ec2nodeclass"),
      {
        apiVersion: "karpenter.k8s.aws/v1",
        kind: "EC2NodeClass",
        metadata: { name: appNodePoolName },
        spec: pulumi
          .all([args.karpenter.nodeRoleName, args.karpenter.discoveryTags])
          .apply(([nodeRoleName, discoveryTags]) =>
            ec2NodeClassSpec({
              nodeRoleName,
              discoveryTags,
              amiAlias: args.karpenter.amiAlias,
              tags: naming(args.stack, "karpenter").tags(),
            }),
          ),
      },
      child({ dependsOn: [karpenter, karpenterCrds] }),
    );
    const nodePool = new k8s.apiextensions.CustomResource(
      names.name("nodepool"),
      {
        apiVersion: "karpenter.sh/v1",
        kind: "NodePool",
        metadata: { name: appNodePoolName },
        spec: karpenterNodePoolSpec(args.policy, appNodePoolName),
      },
      child({ dependsOn: [karpenter, karpenterCrds, nodeClass] }),
    );
    this.nodePoolName = appNodePoolName;

    const albSa = controllerServiceAccounts.awsLoadBalancerController;
    this.loadBalancerController = release(
      "aws-load-balancer-controller",
      charts.awsLoadBalancerController,
      albSa.namespace,
      pulumi
        .all([args.cluster.name, args.cluster.region, args.cluster.vpcId])
        .apply(([clusterName, region, vpcId]) =>
          loadBalancerControllerValues({ clusterName, region, vpcId }),
        ),
      [nodePool, ...loadBalancerControllerCrds],
      { skipCrds: true },
    );
    release("metrics-server", charts.metricsServer, "kube-system", metricsServerValues(), [nodePool]);

    const namespace = new k8s.core.v1.Namespace(
      names.name("monitoring"),
      { metadata: { name: monitoringNamespace } },
      child(),
    );
    this.monitoringNamespace = namespace.metadata.name;
    const grafanaPassword = new random.RandomPassword(
      names.name("grafana-admin"),
      { length: 32, special: false },
      { parent: this },
    );
    this.grafanaAdminPassword = pulumi.secret(grafanaPassword.result);
    const monitoringSecret = (secretName: string, data: pulumi.Input<Record<string, pulumi.Input<string>>>) =>
      new k8s.core.v1.Secret(
        names.name(secretName),
        {
          metadata: { name: secretName, namespace: this.monitoringNamespace },
          stringData: pulumi.secret(data),
        },
        child(),
      );
    const grafanaAdmin = monitoringSecret("grafana-admin", {
      [grafanaAdminKeys.userKey]: "admin",
      [grafanaAdminKeys.passwordKey]: this.grafanaAdminPassword,
    });
    // Without receiver secrets (the local config: alerts notify nobody) there is nothing to mount.
    const receiverFiles = secretDirectory(args.monitoring.alertmanagerSecretFiles);
    const receivers = receiverFiles && monitoringSecret("alertmanager-receivers", receiverFiles.data);
    const prometheusOperatorCrds = release(
      "prometheus-operator-crds",
      charts.prometheusOperatorCrds,
      this.monitoringNamespace,
      {},
    );
    this.monitoringStack = release(
      monitoringReleaseName,
      charts.kubePrometheusStack,
      this.monitoringNamespace,
      kubePrometheusStackValues({
        retention: args.monitoring.retention,
        storageGiB: args.monitoring.storageGiB,
        highlyAvailable: args.monitoring.highlyAvailable,
        storageClassName,
        alertmanagerConfig: args.monitoring.alertmanagerConfig,
        alertmanagerSecretMount: receiverFiles && {
          secretName: "alertmanager-receivers",
          mountPath: receiverFiles.mountPath,
        },
        grafanaAdminSecret: "grafana-admin",
      }),
      [nodePool, storageClass, grafanaAdmin, prometheusOperatorCrds, ...(receivers ? [receivers] : [])],
      { skipCrds: true },
    );
    new k8s.apiextensions.CustomResource(
      names.name("karpenter-service-monitor"),
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "karpenter", namespace: karpenterSa.namespace },
        spec: serviceMonitorSpec({
          namespace: karpenterSa.namespace,
          selector: { ...karpenterMetricsService.selector },
          portName: karpenterMetricsService.portName,
        }),
      },
      child({ dependsOn: [karpenter, this.monitoringStack] }),
    );
    release(
      "prometheus-adapter",
      charts.prometheusAdapter,
      this.monitoringNamespace,
      prometheusAdapterValues(),
      [this.monitoringStack],
    );

    const exporterSecret = (ref: SecretKeyRef, value: pulumi.Input<string>) =>
      monitoringSecret(ref.name, { [ref.key]: value });
    if (args.postgresExporter) {
      const exporter = args.postgresExporter;
      const postgresSecret = exporterSecret(
        postgresExporterSecret,
        pulumi
          .all([exporter.host, exporter.port, exporter.name, exporter.username, exporter.password])
          .apply(([host, port, database, username, password]) =>
            postgresUrl(
              { host, port, database, username, password },
              `${exporterCaBundleDir}/${rdsCaBundlePath.split("/").at(-1)}`,
            ),
          ),
      );
      release(
        "postgres-exporter",
        charts.postgresExporter,
        this.monitoringNamespace,
        pulumi.output(exporter.appImage).apply((appImage) =>
          postgresExporterValues({
            datasourceSecret: postgresExporterSecret,
            appImage,
            bundlePath: rdsCaBundlePath,
          }),
        ),
        [this.monitoringStack, postgresSecret],
      );
    }
    const redisSecret = exporterSecret(redisExporterSecret, args.cache.authToken);
    release(
      "redis-exporter",
      charts.redisExporter,
      this.monitoringNamespace,
      pulumi
        .all([args.cache.host, args.cache.port])
        .apply(([endpoint, port]) =>
          redisExporterValues({ endpoint, port, authTokenSecret: redisExporterSecret }),
        ),
      [this.monitoringStack, redisSecret],
    );

    release(
      "cloudwatch-exporter",
      charts.cloudwatchExporter,
      this.monitoringNamespace,
      pulumi
        .output(args.cluster.region)
        .apply((region) => cloudwatchExporterValues({ region, stack: args.stack })),
      [this.monitoringStack],
    );

    this.registerOutputs({
      monitoringNamespace: this.monitoringNamespace,
      nodePoolName: this.nodePoolName,
      grafanaAdminPassword: this.grafanaAdminPassword,
      access: this.access,
    });
  }
}
