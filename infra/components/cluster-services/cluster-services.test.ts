import * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { rdsCaBundlePath } from "../../../contracts/database";
import { hpaRequestRateMetric, metrics } from "../../../contracts/metrics";
import { type StackName, stackNames } from "../../../contracts/stacks";
import {
  type ComponentRegistration,
  field,
  ofType,
  runComponents,
  single,
} from "../../../tests/support/infra/component-harness";
import { registeredObjectsSchemaErrors, schemaErrors } from "../../../tests/support/infra/kubernetes-schemas";
import { plaintextStrings, reveal } from "../../../tests/support/infra/resources";
import { isSecret } from "../../offline-runner/runner";
import { karpenterNodePoolSpec } from "../../scaling/karpenter";
import { scalingPolicyFor } from "../../scaling/policy";
import { grafanaDashboardLabel } from "../observability/grafana";
import { secretDirectory } from "./alertmanager-secrets";
import { charts } from "./charts";
import { cloudwatchExporterServiceAccount } from "./exporters";
import { ClusterServices, type ClusterServicesArgs } from "./index";
import { appNodePoolName } from "./karpenter";
import { monitoringAccess } from "./monitoring";

const appImage = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley:0.1.0@sha256:${"ab".repeat(32)}`;
const fake = {
  databasePassword: "fake-db-password-1",
  cacheAuthToken: "fake-cache-token-1",
  pagerdutyKey: "fake-pagerduty-key-1",
  slackUrl: "https://hooks.slack.example/fake-1",
};

const alertmanagerConfig = {
  route: { receiver: "ticket" },
  receivers: [{ name: "ticket" }],
};

function clusterServicesArgs(stack: StackName, provider: k8s.Provider): ClusterServicesArgs {
  return {
    provider,
    stack,
    policy: scalingPolicyFor(stack),
    cluster: {
      name: "parley-test",
      endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
      region: "eu-west-1",
      vpcId: "vpc-123",
    },
    karpenter: {
      nodeRoleName: "parley-test-karpenter-node",
      interruptionQueueName: "parley-test-karpenter",
      amiAlias: "al2023@v20240807",
      discoveryTags: { "karpenter.sh/discovery": "parley-test" },
    },
    monitoring: {
      retention: "15d",
      storageGiB: 100,
      highlyAvailable: stack === "prod",
      alertmanagerConfig,
      alertmanagerSecretFiles: [
        { path: "/etc/alertmanager/secrets/pagerduty-routing-key", value: fake.pagerdutyKey },
        { path: "/etc/alertmanager/secrets/slack-tickets-webhook-url", value: fake.slackUrl },
      ],
    },
    postgresExporter: {
      appImage: appImage,
      host: "db.example.internal",
      port: 5432,
      name: "parley",
      username: "parley_exporter",
      password: fake.databasePassword,
    },
    cache: { host: "master.cache.example.internal", port: 6379, authToken: fake.cacheAuthToken },
  };
}

async function clusterServices(stack: StackName): Promise<ComponentRegistration[]> {
  return runComponents(
    () => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
      new ClusterServices("parley-test-cluster-services", clusterServicesArgs(stack, provider));
    },
    { stack },
  );
}

const release = (registrations: ComponentRegistration[], name: string) => {
  const found = ofType(registrations, "kubernetes:helm.sh/v3:Release").filter(
    (registration) => registration.inputs.name === name,
  );
  expect(found, `Helm release ${name}`).toHaveLength(1);
  return reveal(found[0].inputs) as { namespace: string; values: Record<string, unknown> };
};

describe.each(stackNames)("ClusterServices (%s)", (stack) => {
  const policy = scalingPolicyFor(stack);
  const run = clusterServices(stack);

  it("declares a NodePool whose requirements, limits and consolidation are the policy's", async () => {
    const nodePool = single(await run, "kubernetes:karpenter.sh/v1:NodePool");
    expect(nodePool.inputs.metadata).toEqual({ name: appNodePoolName });
    expect(nodePool.inputs.spec).toEqual(karpenterNodePoolSpec(policy, appNodePoolName));
    expect(field(nodePool.inputs, "spec.limits")).toEqual({
      cpu: String(policy.nodes.karpenter.cpuLimitCores),
      memory: `${policy.nodes.karpenter.memoryLimitGiB}Gi`,
    });
  });

  it("declares an EC2NodeClass with the node role, discovery tags and IMDSv2 (hop limit 1)", async () => {
    const nodeClass = single(await run, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass");
    const spec = (path: string) => field(nodeClass.inputs.spec, path);
    expect(nodeClass.inputs.metadata).toEqual({ name: appNodePoolName });
    expect(spec("role")).toBe("parley-test-karpenter-node");
    expect(spec("subnetSelectorTerms")).toEqual([{ tags: { "karpenter.sh/discovery": "parley-test" } }]);
    expect(spec("securityGroupSelectorTerms")).toEqual([
      { tags: { "karpenter.sh/discovery": "parley-test" } },
    ]);
    expect(spec("metadataOptions")).toMatchObject({ httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(spec("blockDeviceMappings.0.ebs.encrypted")).toBe(true);
    expect(spec("tags")).toMatchObject({ project: "parley", stack, "managed-by": "pulumi" });
  });

  it("installs every chart at its pinned version", async () => {
    const registrations = await run;
    const releases = ofType(registrations, "kubernetes:helm.sh/v3:Release").map(
      (registration) => reveal(registration.inputs) as { chart: string; version: string },
    );
    expect(
      releases
        .map(({ chart, version }) => ({ chart, version }))
        .sort((a, b) => a.chart.localeCompare(b.chart)),
    ).toEqual(
      Object.values(charts)
        .map(({ chart, version }) => ({ chart, version }))
        .sort((a, b) => a.chart.localeCompare(b.chart)),
    );
  });

  it("configures Karpenter with the cluster and its interruption queue", async () => {
    const karpenter = release(await run, "karpenter");
    expect(karpenter.namespace).toBe("kube-system");
    expect(karpenter.values.settings).toEqual({
      clusterName: "parley-test",
      clusterEndpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
      interruptionQueue: "parley-test-karpenter",
    });
    expect(field(karpenter.values, "serviceAccount.name")).toBe("karpenter");
  });

  it("runs the controllers on the tainted system node group", async () => {
    const registrations = await run;
    for (const name of ["karpenter", "aws-load-balancer-controller", "metrics-server"]) {
      const { values } = release(registrations, name);
      expect(values.nodeSelector, name).toEqual({ "parley.io/node-group": "system" });
      expect(values.tolerations, name).toEqual([
        { key: "CriticalAddonsOnly", operator: "Exists", effect: "NoSchedule" },
      ]);
    }
  });

  it("sizes Prometheus from config and lets Grafana load the labelled dashboards", async () => {
    const stackRelease = release(await run, "kube-prometheus-stack");
    const prometheus = (path: string) => field(stackRelease.values, `prometheus.prometheusSpec.${path}`);
    expect(prometheus("retention")).toBe("15d");
    expect(prometheus("retentionSize")).toBe("85GB");
    expect(prometheus("storageSpec.volumeClaimTemplate.spec.resources.requests.storage")).toBe("100Gi");
    expect(prometheus("storageSpec.volumeClaimTemplate.spec.storageClassName")).toBe("gp3");
    const storageClass = single(await run, "kubernetes:storage.k8s.io/v1:StorageClass");
    expect(reveal(storageClass.inputs)).toMatchObject({
      metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
    });
    expect(prometheus("ruleSelectorNilUsesHelmValues")).toBe(false);
    expect(prometheus("serviceMonitorSelectorNilUsesHelmValues")).toBe(false);
    expect(field(stackRelease.values, "grafana.sidecar.dashboards")).toMatchObject({
      enabled: true,
      label: grafanaDashboardLabel.key,
      labelValue: grafanaDashboardLabel.value,
    });
  });

  it(`runs Prometheus and Alertmanager ${stack === "prod" ? "highly available: two replicas each, in different zones, with PodDisruptionBudgets" : "without PodDisruptionBudgets (one Prometheus)"}`, async () => {
    const { values } = release(await run, "kube-prometheus-stack");
    const highlyAvailable = stack === "prod";
    for (const [component, spec] of [
      ["prometheus", "prometheusSpec"],
      ["alertmanager", "alertmanagerSpec"],
    ] as const) {
      expect(field(values, `${component}.podDisruptionBudget`), component).toEqual({
        enabled: highlyAvailable,
        minAvailable: 1,
      });
      expect(field(values, `${component}.${spec}`), component).toMatchObject({
        podAntiAffinity: "hard",
        podAntiAffinityTopologyKey: "topology.kubernetes.io/zone",
      });
    }
    expect(field(values, "prometheus.prometheusSpec.replicas")).toBe(highlyAvailable ? 2 : 1);
    expect(field(values, "alertmanager.alertmanagerSpec.replicas")).toBe(2);
  });

  it("scrapes and alerts on no control-plane component EKS hides, and drops the chart's alerts Parley already raises", async () => {
    const { values } = release(await run, "kube-prometheus-stack");
    for (const component of ["kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"]) {
      expect(field(values, `${component}.enabled`), component).toBe(false);
    }
    expect(field(values, "defaultRules.rules")).toEqual({
      general: false,
      etcd: false,
      kubeControllerManager: false,
      kubeSchedulerAlerting: false,
      kubeSchedulerRecording: false,
      kubeProxy: false,
    });
    expect(field(values, "defaultRules.disabled")).toEqual({
      KubeHpaMaxedOut: true,
      NodeFilesystemAlmostOutOfSpace: true,
      NodeFilesystemSpaceFillingUp: true,
    });
  });

  it("collects this stack's RDS and ElastiCache CloudWatch metrics through YACE, with its own service account", async () => {
    const exporter = release(await run, "cloudwatch-exporter");
    expect(exporter.values.serviceAccount).toEqual({ create: true, name: cloudwatchExporterServiceAccount });
    expect(exporter.values.serviceMonitor).toEqual({ enabled: true });
    const config = parse(exporter.values.config as string) as {
      "sts-region": string;
      discovery: {
        jobs: Array<{
          type: string;
          regions: string[];
          searchTags: unknown;
          metrics: Array<{ name: string }>;
        }>;
      };
    };
    expect(config["sts-region"]).toBe("eu-west-1");
    expect(config.discovery.jobs.map((job) => job.type)).toEqual(["AWS/RDS", "AWS/ElastiCache"]);
    for (const job of config.discovery.jobs) {
      expect(job.regions).toEqual(["eu-west-1"]);
      expect(job.searchTags).toEqual([
        { key: "project", value: "^parley$" },
        { key: "stack", value: `^${stack}$` },
      ]);
    }
    expect(config.discovery.jobs[0]!.metrics.map((metric) => metric.name)).toEqual(
      expect.arrayContaining(["CPUUtilization", "FreeStorageSpace", "DatabaseConnections", "ReplicaLag"]),
    );
  });

  it("gives Alertmanager the rendered config and mounts the receivers' secret files where it reads them", async () => {
    const registrations = await run;
    const stackRelease = release(registrations, "kube-prometheus-stack");
    const alertmanager = (path: string) => field(stackRelease.values, `alertmanager.${path}`);
    expect(alertmanager("config")).toEqual(alertmanagerConfig);
    expect(alertmanager("alertmanagerSpec.volumeMounts")).toEqual([
      { name: "receiver-secrets", mountPath: "/etc/alertmanager/secrets", readOnly: true },
    ]);
    const secret = single(registrations, "kubernetes:core/v1:Secret", "alertmanager-receivers");
    expect(alertmanager("alertmanagerSpec.volumes.0.secret.secretName")).toBe(
      field(secret.inputs, "metadata.name"),
    );
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    expect(reveal(secret.inputs.stringData)).toEqual({
      "pagerduty-routing-key": fake.pagerdutyKey,
      "slack-tickets-webhook-url": fake.slackUrl,
    });
  });

  it("serves the app's request rate per pod as the HPA's custom metric", async () => {
    const adapter = release(await run, "prometheus-adapter");
    expect(field(adapter.values, "rules.default")).toBe(false);
    expect(field(adapter.values, "rules.custom")).toEqual([
      expect.objectContaining({
        seriesQuery: `${metrics.httpRequests.name}{namespace!="",pod!=""}`,
        name: { matches: `^${metrics.httpRequests.name}$`, as: hpaRequestRateMetric },
      }),
    ]);
    expect(field(adapter.values, "prometheus.url")).toBe(
      "http://kube-prometheus-stack-prometheus.monitoring.svc",
    );
  });

  it("points the exporters at RDS and ElastiCache through Secrets, over TLS", async () => {
    const registrations = await run;
    const postgres = release(registrations, "postgres-exporter");
    const datasource = single(registrations, "kubernetes:core/v1:Secret", "postgres-exporter-datasource");
    expect(field(postgres.values, "config.datasourceSecret")).toEqual({
      name: field(datasource.inputs, "metadata.name"),
      key: "DATA_SOURCE_NAME",
    });
    // Its own pg_monitor role, and the server verified against the RDS CA bundle (lib/pq verify-full).
    const dsn = new URL(String(field(reveal(datasource.inputs.stringData), "DATA_SOURCE_NAME")));
    expect(dsn.username).toBe("parley_exporter");
    expect(decodeURIComponent(dsn.password)).toBe(fake.databasePassword);
    expect(dsn.host).toBe("db.example.internal:5432");
    expect(Object.fromEntries(dsn.searchParams)).toEqual({
      sslmode: "verify-full",
      sslrootcert: "/etc/parley/rds-ca/rds-global-bundle.pem",
    });
    const redis = release(registrations, "redis-exporter");
    expect(redis.values.redisAddress).toBe("rediss://master.cache.example.internal:6379");
    expect(redis.values.auth).toEqual({
      enabled: true,
      secret: { name: "redis-exporter-auth", key: "password" },
    });
  });

  it("gives postgres_exporter the RDS CA bundle from the digest-pinned app image, read-only", async () => {
    const { values } = release(await run, "postgres-exporter");
    expect(values.initContainers).toEqual([
      expect.objectContaining({
        name: "rds-ca-bundle",
        image: appImage,
        command: ["cp", rdsCaBundlePath, "/etc/parley/rds-ca/rds-global-bundle.pem"],
        volumeMounts: [{ name: "rds-ca", mountPath: "/etc/parley/rds-ca" }],
        securityContext: expect.objectContaining({ readOnlyRootFilesystem: true, runAsNonRoot: true }),
      }),
    ]);
    expect(values.extraVolumes).toEqual([{ name: "rds-ca", emptyDir: { sizeLimit: "1Mi" } }]);
    expect(values.extraVolumeMounts).toEqual([
      { name: "rds-ca", mountPath: "/etc/parley/rds-ca", readOnly: true },
    ]);
  });

  it("keeps every secret out of plaintext inputs", async () => {
    const registrations = await run;
    const plaintext = registrations.flatMap((registration) => plaintextStrings(registration.inputs));
    for (const value of Object.values(fake)) {
      expect(plaintext.filter((text) => text.includes(value))).toEqual([]);
    }
  });

  it("keeps Helm values free of secrets: Grafana's admin credentials come from a secret Secret", async () => {
    const registrations = await run;
    for (const registration of ofType(registrations, "kubernetes:helm.sh/v3:Release")) {
      expect(isSecret(registration.inputs.values), String(registration.inputs.name)).toBe(false);
    }
    const grafana = release(registrations, "kube-prometheus-stack");
    expect(field(grafana.values, "grafana.admin")).toEqual({
      existingSecret: "grafana-admin",
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    const secret = single(registrations, "kubernetes:core/v1:Secret", "grafana-admin");
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    const password = field(reveal(secret.inputs.stringData), "admin-password");
    expect(typeof password === "string" && password.length >= 32).toBe(true);
    const plaintext = registrations.flatMap((registration) => plaintextStrings(registration.inputs));
    expect(plaintext).not.toContain(password);
  });

  it("declares only objects that pass the upstream schemas", async () => {
    const { validated, errors } = await registeredObjectsSchemaErrors(await run);
    expect(validated).toBeGreaterThanOrEqual(7);
    expect(errors).toEqual({});
  });
});

describe("schema validation of Karpenter objects", () => {
  it("rejects a NodePool with a misspelt field or a wrong type", async () => {
    const valid = {
      apiVersion: "karpenter.sh/v1",
      kind: "NodePool",
      metadata: { name: "x" },
      spec: karpenterNodePoolSpec(scalingPolicyFor("dev"), "x"),
    };
    expect(await schemaErrors(valid)).toEqual([]);
    const misspelt = { ...valid, spec: { ...valid.spec, limit: { cpu: "1" } } };
    expect((await schemaErrors(misspelt)).join("\n")).toMatch(/additional properties.*"limit"/);
    const wrongType = {
      ...valid,
      spec: { ...valid.spec, disruption: { ...valid.spec.disruption, consolidationPolicy: "Sometimes" } },
    };
    expect((await schemaErrors(wrongType)).join("\n")).toMatch(/consolidationPolicy/);
  });
});

describe("ClusterServices without Alertmanager receiver secrets", () => {
  it("ships the config without a receivers' Secret or volume", async () => {
    const registrations = await runComponents(() => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
      const args = clusterServicesArgs("dev", provider);
      new ClusterServices("parley-test-cluster-services", {
        ...args,
        monitoring: { ...args.monitoring, alertmanagerSecretFiles: [] },
      });
    });
    expect(
      ofType(registrations, "kubernetes:core/v1:Secret").map((secret) =>
        field(secret.inputs, "metadata.name"),
      ),
    ).toEqual(expect.not.arrayContaining(["alertmanager-receivers"]));
    const { values } = release(registrations, "kube-prometheus-stack");
    expect(field(values, "alertmanager.alertmanagerSpec.volumes")).toEqual([]);
    expect(field(values, "alertmanager.config")).toEqual(alertmanagerConfig);
  });
});

describe("ClusterServices in the platform stage (no app image yet)", () => {
  it("declares no postgres_exporter: its role and CA bundle come with the app image", async () => {
    const registrations = await runComponents(() => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
      new ClusterServices("parley-test-cluster-services", {
        ...clusterServicesArgs("dev", provider),
        postgresExporter: undefined,
      });
    });
    const names = ofType(registrations, "kubernetes:helm.sh/v3:Release").map(
      (registration) => registration.inputs.name,
    );
    expect(names).toContain("redis-exporter");
    expect(names).not.toContain("postgres-exporter");
    expect(
      ofType(registrations, "kubernetes:core/v1:Secret").map((secret) =>
        field(secret.inputs, "metadata.name"),
      ),
    ).not.toContain("postgres-exporter-datasource");
  });
});

describe("monitoringAccess", () => {
  it("port-forwards each UI from the monitoring namespace", () => {
    expect(monitoringAccess().grafana).toEqual({
      url: "http://localhost:3000",
      portForward: "kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80",
    });
    expect(monitoringAccess().prometheus.portForward).toMatch(
      /svc\/kube-prometheus-stack-prometheus 9090:9090$/,
    );
  });
});

describe("secretDirectory", () => {
  it("refuses secret files the config expects in different directories", () => {
    expect(() =>
      secretDirectory([
        { path: "/etc/alertmanager/secrets/a", value: "1" },
        { path: "/etc/other/b", value: "2" },
      ]),
    ).toThrow(/share one directory.*\/etc\/alertmanager\/secrets.*\/etc\/other/);
  });
});
