/**
 * Container logs off the nodes: the Amazon CloudWatch Observability EKS add-on runs Fluent Bit on
 * every node and ships /var/log/containers to CloudWatch Logs (AWS: "Install the Amazon CloudWatch
 * Observability EKS add-on"; Fluent Bit writes to /aws/containerinsights/<cluster>/application,
 * /dataplane and /host and creates the groups without retention if they are missing, so they are
 * created here first with the stack's retention). Grafana queries them through a CloudWatch data
 * source (a ConfigMap its datasource sidecar loads) with a read-only Pod Identity role.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { StackName } from "../../contracts/stacks";
import { componentNaming, componentType } from "../naming";
import { monitoringNamespace, monitoringReleaseName } from "./cluster-services/monitoring";
import { ServiceIdentity } from "./service-identity";

export const containerLogGroupKinds = ["application", "dataplane", "host"] as const;

/** The add-on's namespace and the service account its agents run as (Pod Identity, add-on ≥ 3.1.0). */
export const cloudwatchAgent = {
  namespace: "amazon-cloudwatch",
  serviceAccount: "cloudwatch-agent",
} as const;

/** kube-prometheus-stack's Grafana (named after the release) and its datasource sidecar's label. */
export const grafanaIdentity = {
  namespace: monitoringNamespace,
  serviceAccount: `${monitoringReleaseName}-grafana`,
} as const;
export const grafanaDatasourceLabel = { key: "grafana_datasource", value: "1" } as const;

export const containerLogGroupName = (clusterName: string, kind: (typeof containerLogGroupKinds)[number]) =>
  `/aws/containerinsights/${clusterName}/${kind}`;

export interface ContainerLogsArgs {
  stack: StackName;
  clusterName: string;
  kubernetesVersion: string;
  region: string;
  logRetentionDays: number;
  provider: k8s.Provider;
  /** Grafana's namespace, once it exists. */
  monitoringNamespace: pulumi.Input<string>;
  /** The nodes and the Pod Identity agent the add-on's pods need. */
  dependsOn: pulumi.Resource[];
}

export class ContainerLogs extends pulumi.ComponentResource {
  readonly logGroupNames: string[];

  constructor(name: string, args: ContainerLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("ContainerLogs"), name, {}, opts);
    const n = componentNaming(name, args.stack, "container-logs");
    const parent = { parent: this };

    const groups = containerLogGroupKinds.map(
      (kind) =>
        new aws.cloudwatch.LogGroup(
          n.name(kind),
          {
            name: containerLogGroupName(args.clusterName, kind),
            retentionInDays: args.logRetentionDays,
            tags: n.tags(),
          },
          parent,
        ),
    );
    this.logGroupNames = containerLogGroupKinds.map((kind) => containerLogGroupName(args.clusterName, kind));

    const agentIdentity = new ServiceIdentity(
      n.name("agent"),
      {
        stack: args.stack,
        identity: "cloudwatch-agent",
        clusterName: args.clusterName,
        namespace: cloudwatchAgent.namespace,
        serviceAccount: cloudwatchAgent.serviceAccount,
        managedPolicyArns: ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"],
      },
      parent,
    );
    const addonName = "amazon-cloudwatch-observability";
    new aws.eks.Addon(
      n.name("addon"),
      {
        clusterName: args.clusterName,
        addonName,
        addonVersion: aws.eks
          .getAddonVersionOutput({ addonName, kubernetesVersion: args.kubernetesVersion }, parent)
          .apply((resolved) => resolved.version),
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags: n.tags(),
      },
      { parent: this, dependsOn: [...groups, agentIdentity, ...args.dependsOn] },
    );

    new ServiceIdentity(
      n.name("grafana"),
      {
        stack: args.stack,
        identity: "grafana-logs",
        clusterName: args.clusterName,
        namespace: grafanaIdentity.namespace,
        serviceAccount: grafanaIdentity.serviceAccount,
        managedPolicyArns: ["arn:aws:iam::aws:policy/CloudWatchLogsReadOnlyAccess"],
      },
      parent,
    );
    new k8s.core.v1.ConfigMap(
      n.name("grafana-datasource"),
      {
        metadata: {
          name: "cloudwatch-logs-datasource",
          namespace: args.monitoringNamespace,
          labels: { [grafanaDatasourceLabel.key]: grafanaDatasourceLabel.value },
        },
        data: {
          "cloudwatch-logs.yaml": JSON.stringify({
            apiVersion: 1,
            datasources: [
              {
                name: "CloudWatch Logs",
                uid: "cloudwatch-logs",
                type: "cloudwatch",
                access: "proxy",
                // The AWS SDK's default chain: Grafana's Pod Identity credentials.
                jsonData: { authType: "default", defaultRegion: args.region, logGroups: [] },
              },
            ],
          }),
        },
      },
      { parent: this, provider: args.provider },
    );

    this.registerOutputs({ logGroupNames: this.logGroupNames });
  }
}
