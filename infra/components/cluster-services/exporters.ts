/**
 * Exporters for the managed data stores: postgres_exporter against the RDS primary and
 * redis_exporter against the ElastiCache primary endpoint, both scraped through ServiceMonitors.
 * Their credentials live in Kubernetes Secrets the charts reference, never in the values. The
 * CloudWatch metrics of both (what only AWS sees: CPU, free storage, replica lag) come through YACE
 * (yet-another-cloudwatch-exporter), which reads CloudWatch with its Pod Identity role.
 */
import { stringify } from "yaml";
import type { StackName } from "../../../contracts/stacks";
import { projectName } from "../../naming";

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The Secrets (in the monitoring namespace) that hold the exporters' credentials. */
export const postgresExporterSecret: SecretKeyRef = {
  name: "postgres-exporter-datasource",
  key: "DATA_SOURCE_NAME",
};
export const redisExporterSecret: SecretKeyRef = { name: "redis-exporter-auth", key: "password" };

/** Where the exporter's container reads the RDS CA bundle (`sslrootcert` of its connection URL). */
export const exporterCaBundleDir = "/etc/parley/rds-ca";
const caBundleVolume = "rds-ca";

interface ContainerSecurityContext {
  allowPrivilegeEscalation: false;
  capabilities: { drop: ["ALL"] };
  privileged: false;
  readOnlyRootFilesystem: true;
  runAsNonRoot: true;
}

export interface PostgresExporterValues {
  config: { datasourceSecret: SecretKeyRef };
  serviceMonitor: { enabled: true };
  initContainers: Array<{
    name: string;
    image: string;
    command: string[];
    securityContext: ContainerSecurityContext;
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    volumeMounts: Array<{ name: string; mountPath: string }>;
  }>;
  extraVolumes: Array<{ name: string; emptyDir: { sizeLimit: string } }>;
  extraVolumeMounts: Array<{ name: string; mountPath: string; readOnly: true }>;
}

/**
 * `datasourceSecret` holds a full connection URI (exporter role, `sslmode=verify-full`, `sslrootcert`
 * in exporterCaBundleDir). The bundle comes from the app image, pinned by digest: an init container
 * copies it into a volume the exporter mounts read-only (chart prometheus-postgres-exporter 8.2.0:
 * `initContainers`, `extraVolumes`, `extraVolumeMounts` in values.yaml).
 */
export function postgresExporterValues(input: {
  datasourceSecret: SecretKeyRef;
  appImage: string;
  bundlePath: string;
}): PostgresExporterValues {
  const fileName = input.bundlePath.split("/").at(-1)!;
  return {
    config: { datasourceSecret: input.datasourceSecret },
    serviceMonitor: { enabled: true },
    initContainers: [
      {
        name: "rds-ca-bundle",
        image: input.appImage,
        command: ["cp", input.bundlePath, `${exporterCaBundleDir}/${fileName}`],
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          privileged: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
        },
        resources: {
          requests: { cpu: "10m", memory: "16Mi" },
          limits: { cpu: "100m", memory: "32Mi" },
        },
        volumeMounts: [{ name: caBundleVolume, mountPath: exporterCaBundleDir }],
      },
    ],
    extraVolumes: [{ name: caBundleVolume, emptyDir: { sizeLimit: "1Mi" } }],
    extraVolumeMounts: [{ name: caBundleVolume, mountPath: exporterCaBundleDir, readOnly: true }],
  };
}

export interface RedisExporterValues {
  redisAddress: string;
  auth: { enabled: true; secret: SecretKeyRef };
  serviceMonitor: { enabled: true };
}

/** `rediss://`: ElastiCache has in-transit encryption on, so the exporter speaks TLS too. */
export function redisExporterValues(input: {
  endpoint: string;
  port: number;
  authTokenSecret: SecretKeyRef;
}): RedisExporterValues {
  return {
    redisAddress: `rediss://${input.endpoint}:${input.port}`,
    auth: { enabled: true, secret: input.authTokenSecret },
    serviceMonitor: { enabled: true },
  };
}

/** YACE's service account (in the monitoring namespace): Pod Identity binds its IAM role to it. */
export const cloudwatchExporterServiceAccount = "cloudwatch-exporter";

/**
 * The CloudWatch metrics collected, per namespace, with their statistic. YACE exports each as
 * `aws_<service>_<metric in snake case>_<statistic>`, e.g. `aws_rds_replica_lag_average`.
 */
export const cloudwatchMetrics = {
  "AWS/RDS": [
    ["CPUUtilization", "Average"],
    ["FreeStorageSpace", "Average"],
    ["DatabaseConnections", "Average"],
    ["ReplicaLag", "Average"],
  ],
  "AWS/ElastiCache": [
    ["CPUUtilization", "Average"],
    ["DatabaseMemoryUsagePercentage", "Average"],
    ["Evictions", "Sum"],
    ["CurrConnections", "Average"],
  ],
} as const;

/** What YACE may call: discovery by tag and CloudWatch reads, nothing else. */
export const cloudwatchExporterPolicy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["tag:GetResources", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
      Resource: "*",
    },
  ],
});

export interface CloudwatchExporterValues {
  serviceAccount: { create: true; name: string };
  serviceMonitor: { enabled: true };
  /** YACE's own configuration file, as text. */
  config: string;
}

/** Discovers this stack's RDS instances and ElastiCache nodes by their `project` and `stack` tags. */
export function cloudwatchExporterValues(input: {
  region: string;
  stack: StackName;
}): CloudwatchExporterValues {
  const config = {
    apiVersion: "v1alpha1",
    "sts-region": input.region,
    discovery: {
      jobs: Object.entries(cloudwatchMetrics).map(([type, collected]) => ({
        type,
        regions: [input.region],
        searchTags: [
          { key: "project", value: `^${projectName}$` },
          { key: "stack", value: `^${input.stack}$` },
        ],
        metrics: collected.map(([name, statistic]) => ({
          name,
          statistics: [statistic],
          period: 60,
          length: 300,
        })),
      })),
    },
  };
  return {
    serviceAccount: { create: true, name: cloudwatchExporterServiceAccount },
    serviceMonitor: { enabled: true },
    config: stringify(config, { lineWidth: 0 }),
  };
}
