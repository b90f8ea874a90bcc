/**
 * The whole program, prod and dev, under mocks: what it declares inside the cluster (cluster
 * services, the workload, observability) and how that is wired to the AWS and Cloudflare side.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { stackNames } from "../contracts/stacks";
import { alertmanagerSecretFiles } from "../observability/alertmanager";
import { renderObservability } from "../observability/render";
import { ensureBinaries } from "../scripts/platform/binaries";
import { field } from "../tests/support/infra/component-harness";
import { registeredObjectsSchemaErrors } from "../tests/support/infra/kubernetes-schemas";
import { resourcesOfType, reveal } from "../tests/support/infra/resources";
import { forLocalAmtool } from "../tests/support/observability/observability-tools";
import { appNodePoolName } from "./components/cluster-services/karpenter";
import { isSecret, type ProgramRun, type RegisteredResource, runProgram } from "./offline-runner/runner";
import { dbPoolEnv } from "./scaling/database";
import { karpenterNodePoolSpec } from "./scaling/karpenter";
import { containerResources, hpaSpec, pdbSpec } from "./scaling/kubernetes";
import { scalingPolicyFor } from "./scaling/policy";

const receiverConfig = {
  "parley:pagerdutyRoutingKey": "pd-routing-key-for-test",
  "parley:slackTicketsWebhookUrl": "https://hooks.slack.example/services/T000/B000/test",
  "parley:deadMansSwitchUrl": "https://deadman.example/ping/test",
};

const runs = {} as Record<"prod" | "dev" | "prodWithReceivers", ProgramRun>;
beforeAll(async () => {
  runs.prod = await runProgram({ stack: "prod" });
  runs.dev = await runProgram({ stack: "dev" });
  runs.prodWithReceivers = await runProgram({ stack: "prod", config: receiverConfig });
});

const rendered = renderObservability();
/** The stacks' default `parley:aiMonthlyBudgetUsd` (infra/config.ts). */
const aiMonthlyBudgetUsd = { prod: 25_000, dev: 500 } as const;

function one(
  run: ProgramRun,
  type: string,
  predicate: (resource: RegisteredResource) => boolean = () => true,
) {
  const found = resourcesOfType(run, type).filter(predicate);
  expect(found, type).toHaveLength(1);
  return found[0];
}
const input = (resource: RegisteredResource, dottedPath: string) =>
  field(reveal(resource.inputs), dottedPath);
const output = (resource: RegisteredResource, dottedPath: string) =>
  field(reveal(resource.outputs), dottedPath);
/** The app's connection Secret (the migration Job has its own, labelled component=migrate). */
const appSecret = (run: ProgramRun) =>
  one(
    run,
    "kubernetes:core/v1:Secret",
    (resource) =>
      input(resource, "metadata.namespace") === "parley" &&
      input(resource, "metadata.labels")?.["app.kubernetes.io/component" as never] === "api",
  );
const release = (run: ProgramRun, name: string) =>
  one(run, "kubernetes:helm.sh/v3:Release", (resource) => input(resource, "name") === name);
const appContainer = (run: ProgramRun) =>
  input(one(run, "kubernetes:apps/v1:Deployment"), "spec.template.spec.containers.0") as {
    image: string;
    resources: unknown;
    env: Array<{ name: string; value?: string }>;
  };

describe.each(stackNames)("the %s stack in the cluster", (stack) => {
  const policy = scalingPolicyFor(stack);
  const run = () => runs[stack];

  it("declares only Kubernetes objects that pass the upstream schemas", async () => {
    const { validated, errors } = await registeredObjectsSchemaErrors(run().resources);
    expect(validated).toBeGreaterThan(20);
    expect(errors).toEqual({});
  });

  it("derives the NodePool, HPA, PDB, container resources and pool sizes from the scaling policy", () => {
    expect(input(one(run(), "kubernetes:karpenter.sh/v1:NodePool"), "spec")).toEqual(
      karpenterNodePoolSpec(policy, appNodePoolName),
    );
    expect(input(one(run(), "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"), "spec")).toEqual(
      hpaSpec(policy, "parley"),
    );
    const selector = input(
      one(run(), "kubernetes:apps/v1:Deployment"),
      "spec.selector.matchLabels",
    ) as Record<string, string>;
    expect(input(one(run(), "kubernetes:policy/v1:PodDisruptionBudget"), "spec")).toEqual(
      pdbSpec(policy, selector),
    );
    const container = appContainer(run());
    expect(container.resources).toEqual(containerResources(policy));
    for (const [name, value] of Object.entries(dbPoolEnv(policy))) {
      expect(container.env.find((variable) => variable.name === name)?.value, name).toBe(value);
    }
  });

  it("runs the configured tag of the stack's ECR repository, pinned by the digest ECR reports for it", () => {
    const repository = one(run(), "aws:ecr/repository:Repository");
    const url = String(output(repository, "repositoryUrl")).replace(/\./g, "\\.");
    expect(appContainer(run()).image).toMatch(new RegExp(`^${url}:0\\.1\\.0@sha256:[0-9a-f]{64}$`));
  });

  it("migrates before the Deployment rolls out", () => {
    const job = one(run(), "kubernetes:batch/v1:Job");
    expect(one(run(), "kubernetes:apps/v1:Deployment").dependencies).toContain(job.urn);
  });

  it("connects the app to the RDS primary and each replica's own endpoint and to ElastiCache over TLS, through a secret Secret", () => {
    const secret = appSecret(run());
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    const urls = input(secret, "stringData") as Record<string, string>;
    const instances = resourcesOfType(run(), "aws:rds/instance:Instance");
    const primary = instances.find((instance) => !input(instance, "replicateSourceDb"));
    const replicas = instances.filter((instance) => input(instance, "replicateSourceDb"));
    expect(new URL(urls.DATABASE_URL).hostname).toBe(output(primary!, "address"));
    // One URL per replica, by the instance endpoint its RDS certificate names (never the private alias).
    expect((urls.DATABASE_REPLICA_URLS ?? "").split(",").map((url) => new URL(url).hostname)).toEqual(
      replicas.map((replica) => output(replica, "address")),
    );
    const group = one(run(), "aws:elasticache/replicationGroup:ReplicationGroup");
    const redis = new URL(urls.REDIS_URL);
    expect(redis.protocol).toBe("rediss:");
    expect(redis.hostname).toBe(output(group, "primaryEndpointAddress"));
    expect(decodeURIComponent(redis.password)).toBe(output(group, "authToken"));
  });

  it("verifies RDS's certificate on every PostgreSQL URL, and keeps the master user in the migration Job's Secret alone", () => {
    const postgresUrls = resourcesOfType(run(), "kubernetes:core/v1:Secret").flatMap((secret) =>
      Object.entries((input(secret, "stringData") ?? {}) as Record<string, string>)
        .flatMap(([key, value]) => value.split(",").map((url) => ({ secret, key, url })))
        .filter(({ url }) => url.startsWith("postgres://")),
    );
    // App primary + replicas, the migration Job's, the exporter's.
    expect(postgresUrls.length).toBe(2 + policy.database.readReplicas + 1);
    for (const { url } of postgresUrls) {
      expect(Object.fromEntries(new URL(url).searchParams), url.replace(/:[^:@]+@/, ":***@")).toEqual({
        sslmode: "verify-full",
        sslrootcert: expect.stringMatching(/\/rds-global-bundle\.pem$/),
      });
    }
    const users = postgresUrls.map(({ secret, key, url }) => ({
      component: (input(secret, "metadata.labels") as Record<string, string> | undefined)?.[
        "app.kubernetes.io/component"
      ],
      name: input(secret, "metadata.name") ?? "(generated)",
      key,
      user: new URL(url).username,
    }));
    expect(users.filter((entry) => entry.user === "parley_admin")).toEqual([
      { component: "migrate", name: "(generated)", key: "DATABASE_URL", user: "parley_admin" },
    ]);
    expect(new Set(users.filter((entry) => entry.component === "api").map((entry) => entry.user))).toEqual(
      new Set(["parley_app"]),
    );
    expect(
      users.filter((entry) => entry.name === "postgres-exporter-datasource").map((entry) => entry.user),
    ).toEqual(["parley_exporter"]);
  });

  it("keeps the roles' passwords in Secrets Manager under the database's KMS key; the app's identity reads its own, not the master's", () => {
    const secrets = resourcesOfType(run(), "aws:secretsmanager/secret:Secret");
    // JSON credentials only (the cache's token is a bare string).
    const versions = resourcesOfType(run(), "aws:secretsmanager/secretVersion:SecretVersion").filter(
      (version) => String(input(version, "secretString")).startsWith("{"),
    );
    const database = one(
      run(),
      "aws:rds/instance:Instance",
      (instance) => !input(instance, "replicateSourceDb"),
    );
    const byUser = (username: string) => {
      const version = versions.find(
        (candidate) => JSON.parse(String(input(candidate, "secretString"))).username === username,
      );
      expect(version, username).toBeDefined();
      const secret = secrets.find((candidate) => output(candidate, "id") === input(version!, "secretId"));
      expect(input(secret!, "kmsKeyId")).toBe(input(database, "kmsKeyId"));
      return { secret: secret!, value: JSON.parse(String(input(version!, "secretString"))) };
    };
    const app = byUser("parley_app");
    const exporter = byUser("parley_exporter");
    const master = byUser("parley_admin");
    const migrate = one(
      run(),
      "kubernetes:core/v1:Secret",
      (resource) =>
        input(resource, "metadata.labels")?.["app.kubernetes.io/component" as never] === "migrate",
    );
    expect(input(migrate, "stringData")).toMatchObject({
      DATABASE_APP_PASSWORD: app.value.password,
      DATABASE_EXPORTER_PASSWORD: exporter.value.password,
    });
    const appReader = one(run(), "aws:iam/policy:Policy", (policy) =>
      /app-identity-read-credentials$/.test(policy.name),
    );
    const readable = JSON.stringify(input(appReader, "policy"));
    expect(readable).toContain(String(output(app.secret, "arn")));
    expect(readable).not.toContain(String(output(master.secret, "arn")));
  });

  it("serves the public host through the ALB with the ACM certificate, the Cloudflare-only security group and a DNS record at it", () => {
    const ingress = one(run(), "kubernetes:networking.k8s.io/v1:Ingress");
    const certificate = one(run(), "aws:acm/certificate:Certificate");
    const annotations = input(ingress, "metadata.annotations") as Record<string, string>;
    expect(annotations["alb.ingress.kubernetes.io/certificate-arn"]).toBe(output(certificate, "arn"));
    const securityGroupIds = resourcesOfType(run(), "aws:ec2/securityGroup:SecurityGroup").map((group) =>
      output(group, "id"),
    );
    expect(securityGroupIds).toContain(annotations["alb.ingress.kubernetes.io/security-groups"]);
    const record = one(
      run(),
      "cloudflare:index/dnsRecord:DnsRecord",
      (dns) => input(dns, "proxied") === true,
    );
    expect(input(record, "content")).toBe(output(ingress, "status.loadBalancer.ingress.0.hostname"));
    expect(input(ingress, "spec.rules.0.host")).toBe(input(record, "name"));
  });

  it("gives Karpenter the node role, interruption queue and discovery tags that part 1 created", () => {
    const nodeClass = one(run(), "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass");
    const roleNames = resourcesOfType(run(), "aws:iam/role:Role").map((role) => output(role, "name"));
    expect(roleNames).toContain(input(nodeClass, "spec.role"));
    const queueNames = resourcesOfType(run(), "aws:sqs/queue:Queue").map((queue) => output(queue, "name"));
    expect(queueNames).toContain(input(release(run(), "karpenter"), "values.settings.interruptionQueue"));
    const privateSubnetTags = resourcesOfType(run(), "aws:ec2/subnet:Subnet").map((subnet) =>
      input(subnet, "tags"),
    );
    const [selector] = input(nodeClass, "spec.subnetSelectorTerms") as Array<{
      tags: Record<string, string>;
    }>;
    expect(privateSubnetTags).toContainEqual(expect.objectContaining(selector.tags));
  });

  it("orders the cluster services: Karpenter and its NodePool first, ServiceMonitors only once the monitoring stack (their CRD) is up", () => {
    const urnOf = (resource: RegisteredResource) => resource.urn;
    const monitoringStack = release(run(), "kube-prometheus-stack");
    const nodePool = one(run(), "kubernetes:karpenter.sh/v1:NodePool");
    expect(monitoringStack.dependencies).toContain(urnOf(nodePool));
    expect(nodePool.dependencies).toContain(urnOf(release(run(), "karpenter")));
    for (const name of ["karpenter", "aws-load-balancer-controller"]) {
      expect(input(release(run(), name), "values.serviceMonitor.enabled"), name).toBe(false);
    }
    const monitors = resourcesOfType(run(), "kubernetes:monitoring.coreos.com/v1:ServiceMonitor");
    expect(monitors.map((monitor) => input(monitor, "metadata.name")).sort()).toEqual([
      "karpenter",
      "parley",
    ]);
    for (const monitor of monitors) expect(monitor.dependencies).toContain(urnOf(monitoringStack));
    for (const name of ["postgres-exporter", "redis-exporter", "prometheus-adapter"]) {
      expect(release(run(), name).dependencies, name).toContain(urnOf(monitoringStack));
    }
  });

  it("has the VPC CNI enforce the workload's NetworkPolicies", () => {
    const policies = resourcesOfType(run(), "kubernetes:networking.k8s.io/v1:NetworkPolicy");
    expect(policies.map((policy) => input(policy, "metadata.name"))).toContain("default-deny");
    const vpcCni = one(run(), "aws:eks/addon:Addon", (addon) => input(addon, "addonName") === "vpc-cni");
    expect(JSON.parse(String(input(vpcCni, "configurationValues")))).toMatchObject({
      enableNetworkPolicy: "true",
    });
  });

  it("alerts on AI spend against the stack's default budget (parley:aiMonthlyBudgetUsd)", () => {
    const rules = (
      input(one(run(), "kubernetes:monitoring.coreos.com/v1:PrometheusRule"), "spec.groups") as Array<{
        rules: Array<{ alert?: string; expr: string }>;
      }>
    ).flatMap((group) => group.rules);
    const spend = rules.find((rule) => rule.alert === "ParleyAISpendOverBudget");
    expect(spend?.expr).toMatch(new RegExp(` > ${aiMonthlyBudgetUsd[stack]}$`));
  });

  it("ships the rendered rule file as the PrometheusRule and every dashboard as a labelled ConfigMap", () => {
    const rule = one(run(), "kubernetes:monitoring.coreos.com/v1:PrometheusRule");
    const rules = renderObservability({ aiMonthlyBudgetUsd: aiMonthlyBudgetUsd[stack] }).rulesYaml;
    expect(input(rule, "spec.groups")).toEqual(parse(rules).groups);
    const dashboards = resourcesOfType(run(), "kubernetes:core/v1:ConfigMap").filter(
      (configMap) => input(configMap, "metadata.labels.grafana_dashboard") === "1",
    );
    expect(dashboards.map((configMap) => input(configMap, "metadata.name")).sort()).toEqual(
      rendered.dashboards.map((dashboard) => `dashboard-${dashboard.uid}`).sort(),
    );
  });

  it("exports how to reach Grafana, Prometheus and Alertmanager, and Grafana's password as a secret", () => {
    const outputs = run().stackOutputs;
    expect(outputs.grafanaUrl).toBe("http://localhost:3000");
    expect(outputs.monitoring).toMatchObject({
      grafana: { portForward: expect.stringMatching(/^kubectl -n monitoring port-forward svc\//) },
      prometheus: { url: "http://localhost:9090" },
      alertmanager: { url: "http://localhost:9093" },
    });
    expect(isSecret(outputs.grafanaAdminPassword)).toBe(true);
  });

  // Prod cannot deploy without receivers (a config cross-check; the plan assumes its bootstrap
  // secrets); dev has none and runs the routes with receivers that notify nobody.
  it("runs the production Alertmanager routes in prod and the local ones (no notifications) in dev", () => {
    const values = input(release(run(), "kube-prometheus-stack"), "values") as Record<string, unknown>;
    expect(field(values, "alertmanager.config")).toEqual(
      parse(stack === "prod" ? rendered.alertmanagerYaml : rendered.alertmanagerLocalYaml),
    );
  });
});

describe("the prod stack with Alertmanager receiver secrets", () => {
  const run = () => runs.prodWithReceivers;

  it("ships the production config, its secret files in a secret Secret mounted where the config reads them", () => {
    const values = input(release(run(), "kube-prometheus-stack"), "values") as Record<string, unknown>;
    expect(field(values, "alertmanager.config")).toEqual(parse(rendered.alertmanagerYaml));
    const secret = one(run(), "kubernetes:core/v1:Secret", (resource) =>
      String(input(resource, "metadata.name")).startsWith("alertmanager-receivers"),
    );
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    const mount = field(values, "alertmanager.alertmanagerSpec.volumeMounts.0.mountPath") as string;
    const files = input(secret, "stringData") as Record<string, string>;
    expect(path.posix.join(mount, "pagerduty-routing-key")).toBe(alertmanagerSecretFiles.pagerdutyRoutingKey);
    expect(files).toEqual({
      [path.posix.basename(alertmanagerSecretFiles.pagerdutyRoutingKey)]:
        receiverConfig["parley:pagerdutyRoutingKey"],
      [path.posix.basename(alertmanagerSecretFiles.slackTicketsWebhookUrl)]:
        receiverConfig["parley:slackTicketsWebhookUrl"],
      [path.posix.basename(alertmanagerSecretFiles.deadMansSwitchUrl)]:
        receiverConfig["parley:deadMansSwitchUrl"],
    });
  });

  it("ships an Alertmanager config amtool accepts", () => {
    const values = input(release(run(), "kube-prometheus-stack"), "values") as Record<string, unknown>;
    const { amtool } = ensureBinaries(["alertmanager"], () => undefined, { allowInstall: false });
    const directory = mkdtempSync(path.join(tmpdir(), "parley-alertmanager-"));
    try {
      const file = path.join(directory, "alertmanager.yaml");
      writeFileSync(file, forLocalAmtool(stringify(field(values, "alertmanager.config"))));
      expect(execFileSync(amtool, ["check-config", file], { encoding: "utf8" })).toMatch(/SUCCESS/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("stack config for the cluster", () => {
  it("refuses the OpenAI provider without its API key, naming the key to set", async () => {
    await expect(runProgram({ stack: "dev", config: { "parley:aiProvider": "openai" } })).rejects.toThrow(
      /parley:openaiApiKey/,
    );
  });

  it("refuses one receiver secret without the other", async () => {
    await expect(
      runProgram({ stack: "dev", config: { "parley:pagerdutyRoutingKey": "only-this-one" } }),
    ).rejects.toThrow(
      /parley:pagerdutyRoutingKey, parley:slackTicketsWebhookUrl, parley:deadMansSwitchUrl go together.*missing parley:slackTicketsWebhookUrl, parley:deadMansSwitchUrl/,
    );
  });

  it("passes the OpenAI settings to the app with the key in the Secret", async () => {
    const run = await runProgram({
      stack: "dev",
      config: { "parley:aiProvider": "openai", "parley:openaiApiKey": "sk-test-key-for-the-stack" },
    });
    const env = appContainer(run).env;
    expect(env.find((variable) => variable.name === "AI_PROVIDER")?.value).toBe("openai");
    const secret = appSecret(run);
    expect(input(secret, "stringData.OPENAI_API_KEY")).toBe("sk-test-key-for-the-stack");
    expect(isSecret(secret.inputs.stringData)).toBe(true);
  });
});
