import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import { parse } from "pg-connection-string";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../app/src/config";
import { rdsCaBundlePath } from "../../../contracts/database";
import { envVar } from "../../../contracts/environment";
import { hpaRequestRateMetric } from "../../../contracts/metrics";
import { type StackName, stackNames } from "../../../contracts/stacks";
import {
  type ComponentRegistration,
  field,
  ofType,
  runComponents,
  single,
} from "../../../tests/support/infra/component-harness";
import { registeredObjectsSchemaErrors } from "../../../tests/support/infra/kubernetes-schemas";
import { plaintextStrings, reveal } from "../../../tests/support/infra/resources";
import { cloudflareIpv4Ranges, cloudflareIpv6Ranges } from "../../data/cloudflare-ips";
import { mockHash } from "../../offline-runner/mock-outputs";
import { isSecret } from "../../offline-runner/runner";
import { containerResources, hpaSpec, pdbSpec } from "../../scaling/kubernetes";
import { scalingPolicyFor } from "../../scaling/policy";
import { postgresUrl, redisUrl } from "./connection-urls";
import { deregistrationDelaySeconds, preStopSleepSeconds, terminationGracePeriodSeconds } from "./draining";
import { Workload, type WorkloadArgs } from "./index";

/** Every environment variable the app reads (contracts/environment.ts). */
const appEnvironmentNames: string[] = Object.keys(envVar);

const fake = {
  databasePassword: "fake/db:pass@word-1",
  appPassword: "fake-app-password-1",
  exporterPassword: "fake-exporter-password-1",
  cacheAuthToken: "fake-cache-token-1",
  openaiApiKey: "sk-fake-openai-key-1",
};

const fakeTrustStoreArn =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:truststore/parley-origin-pull/0123456789abcdef";

const loadBalancerSubnetCidrs = ["10.40.192.0/22", "10.40.196.0/22", "10.40.200.0/22"];

function workloadArgs(stack: StackName, provider: k8s.Provider, openai: boolean): WorkloadArgs {
  return {
    provider,
    policy: scalingPolicyFor(stack),
    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley:sha-abc1234",
    app: {
      logLevel: "info",
      rateLimits: { ipPerMinute: 2400, userPerMinute: 900, loginPerMinute: 12 },
      aiProvider: openai ? "openai" : "knowledge",
      openai: openai
        ? { baseUrl: "https://api.openai.com/v1", model: "gpt-4o-mini", apiKey: fake.openaiApiKey }
        : undefined,
      version: "sha-abc1234",
    },
    publicHost: "chat.example.com",
    certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    loadBalancerSecurityGroupId: "sg-0123456789abcdef0",
    originTrustStoreArn: fakeTrustStoreArn,
    network: { vpcCidr: "10.40.0.0/16", loadBalancerSubnetCidrs },
    database: {
      primaryHost: "primary.db.internal",
      replicaHosts: [
        "replica-0.abc.eu-west-1.rds.amazonaws.com",
        "replica-1.abc.eu-west-1.rds.amazonaws.com",
      ],
      port: 5432,
      name: "parley",
      master: { username: "parley_admin", password: fake.databasePassword },
      app: { username: "parley_app", password: fake.appPassword },
      exporterPassword: fake.exporterPassword,
    },
    cache: { host: "master.cache.internal", port: 6379, authToken: fake.cacheAuthToken },
    nodePoolName: "parley-app",
    monitoringNamespace: "monitoring",
  };
}

async function workload(stack: StackName, openai = false): Promise<ComponentRegistration[]> {
  return runComponents(
    () => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "fake" });
      new Workload("parley-test-workload", workloadArgs(stack, provider, openai));
    },
    { stack },
  );
}

const get = (registration: ComponentRegistration, path: string) => field(reveal(registration.inputs), path);

const secrets = (registrations: ComponentRegistration[], component: "api" | "migrate") =>
  ofType(registrations, "kubernetes:core/v1:Secret").filter(
    (secret) => get(secret, "metadata.labels")?.["app.kubernetes.io/component" as never] === component,
  );
const appSecret = (registrations: ComponentRegistration[]) => {
  const found = secrets(registrations, "api");
  expect(found).toHaveLength(1);
  return found[0]!;
};
const migrationSecret = (registrations: ComponentRegistration[]) => {
  const found = secrets(registrations, "migrate");
  expect(found).toHaveLength(1);
  return found[0]!;
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

describe.each(stackNames)("Workload (%s)", (stack) => {
  const policy = scalingPolicyFor(stack);
  const run = workload(stack);
  const deployment = async () => single(await run, "kubernetes:apps/v1:Deployment");
  const container = async () =>
    get(await deployment(), "spec.template.spec.containers.0") as Record<string, unknown>;

  it("runs the configured image with the policy's requests and limits and no fixed replica count", async () => {
    const app = await container();
    expect(app.image).toBe("123456789012.dkr.ecr.eu-west-1.amazonaws.com/parley:sha-abc1234");
    expect(app.name).toBe("parley");
    expect(app.resources).toEqual(containerResources(policy));
    expect(get(await deployment(), "spec.replicas")).toBeUndefined();
    expect(get(await deployment(), "metadata.name")).toBe("parley");
  });

  it("probes /healthz for liveness and startup and /readyz for readiness", async () => {
    const app = await container();
    expect(field(app, "livenessProbe.httpGet.path")).toBe("/healthz");
    expect(field(app, "startupProbe.httpGet.path")).toBe("/healthz");
    expect(field(app, "readinessProbe.httpGet.path")).toBe("/readyz");
  });

  it("runs non-root on a read-only root filesystem with every capability dropped", async () => {
    const app = await container();
    expect(app.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(get(await deployment(), "spec.template.spec.securityContext")).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("spreads pods across zones and drains them before exiting", async () => {
    const pod = get(await deployment(), "spec.template.spec") as Record<string, unknown>;
    expect(pod.topologySpreadConstraints).toContainEqual(
      expect.objectContaining({
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "DoNotSchedule",
      }),
    );
    expect(pod.nodeSelector).toEqual({ "karpenter.sh/nodepool": "parley-app" });
    expect(field(await container(), "lifecycle.preStop.sleep.seconds")).toBe(preStopSleepSeconds);
    const env = (await container()).env as EnvVar[];
    const grace = Number(env.find((variable) => variable.name === "SHUTDOWN_GRACE_MS")?.value);
    expect(pod.terminationGracePeriodSeconds).toBe(terminationGracePeriodSeconds);
    expect(preStopSleepSeconds + grace / 1000).toBeLessThan(terminationGracePeriodSeconds);
  });

  it("keeps idle connections open longer than the ALB does, with a value the app accepts", async () => {
    const env = (await container()).env as EnvVar[];
    const keepAliveMs = env.find((variable) => variable.name === "HTTP_KEEP_ALIVE_TIMEOUT_MS")?.value;
    const ingress = single(await run, "kubernetes:networking.k8s.io/v1:Ingress");
    const attributes = (get(ingress, "metadata.annotations") as Record<string, string>)[
      "alb.ingress.kubernetes.io/load-balancer-attributes"
    ];
    const idleSeconds = Number(/idle_timeout\.timeout_seconds=(\d+)/.exec(attributes)?.[1]);
    expect(idleSeconds).toBeGreaterThan(0);
    expect(Number(keepAliveMs)).toBeGreaterThan(idleSeconds * 1000);
    const app = loadConfig({
      DATABASE_URL: "postgres://app@db/parley",
      REDIS_URL: "redis://cache:6379",
      JWT_SECRET: "x".repeat(32),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: keepAliveMs,
    });
    expect(app.http.keepAliveMs).toBe(Number(keepAliveMs));
  });

  it("passes only the app's known environment variables, pool sizes from the policy, connections from the Secret", async () => {
    const env = (await container()).env as EnvVar[];
    expect(
      env.map((variable) => variable.name).filter((name) => !appEnvironmentNames.includes(name)),
    ).toEqual([]);
    const value = (name: string) => env.find((variable) => variable.name === name);
    expect(value("DB_POOL_MAX")?.value).toBe(String(policy.database.poolMaxPerPod.primary));
    expect(value("DB_REPLICA_POOL_MAX")?.value).toBe(String(policy.database.poolMaxPerPod.replica));
    // The app's rate limits from the stack config (parley:appRateLimit*PerMinute).
    expect(value("RATE_LIMIT_IP_PER_MINUTE")?.value).toBe("2400");
    expect(value("RATE_LIMIT_USER_PER_MINUTE")?.value).toBe("900");
    expect(value("RATE_LIMIT_LOGIN_PER_MINUTE")?.value).toBe("12");
    // The Secret has no fixed name (a new one rolls the pods): the provider names it after the resource.
    const secret = appSecret(await run);
    expect(get(secret, "metadata.name")).toBeUndefined();
    for (const name of ["DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "JWT_SECRET"]) {
      expect(value(name)?.valueFrom?.secretKeyRef).toEqual({
        name: `${secret.name}-${mockHash(secret.name, 8)}`,
        key: name,
      });
    }
    expect(value("OPENAI_API_KEY")).toBeUndefined();
  });

  it("connects as the app's role to the primary and each replica's own endpoint, verifying RDS's certificate, and keeps Redis (TLS + AUTH) in a secret Secret", async () => {
    const registrations = await run;
    const secret = appSecret(registrations);
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    const connection = { port: 5432, database: "parley", username: "parley_app", password: fake.appPassword };
    expect(get(secret, "stringData")).toMatchObject({
      DATABASE_URL: postgresUrl({ ...connection, host: "primary.db.internal" }, rdsCaBundlePath),
      DATABASE_REPLICA_URLS: [0, 1]
        .map((index) =>
          postgresUrl(
            { ...connection, host: `replica-${index}.abc.eu-west-1.rds.amazonaws.com` },
            rdsCaBundlePath,
          ),
        )
        .join(","),
      REDIS_URL: redisUrl({ host: "master.cache.internal", port: 6379, authToken: fake.cacheAuthToken }),
    });
    const primary = new URL(String(get(secret, "stringData.DATABASE_URL")));
    expect(Object.fromEntries(primary.searchParams)).toEqual({
      sslmode: "verify-full",
      sslrootcert: "/srv/parley/certs/rds-global-bundle.pem",
    });
    // The master user and the exporter's password are not the app's to see.
    expect(JSON.stringify(get(secret, "stringData"))).not.toMatch(
      new RegExp(`parley_admin|${fake.exporterPassword}|${encodeURIComponent(fake.databasePassword)}`),
    );
    expect(String(get(secret, "stringData.JWT_SECRET")).length).toBeGreaterThan(0);
    const plaintext = registrations.flatMap((registration) => plaintextStrings(registration.inputs));
    for (const value of [
      fake.databasePassword,
      encodeURIComponent(fake.databasePassword),
      fake.appPassword,
      fake.exporterPassword,
      fake.cacheAuthToken,
    ]) {
      expect(plaintext.filter((text) => text.includes(value))).toEqual([]);
    }
  });

  it("gives the migration Job alone the master user and the roles' passwords, from a Secret of its own", async () => {
    const registrations = await run;
    const secret = migrationSecret(registrations);
    expect(isSecret(secret.inputs.stringData)).toBe(true);
    expect(get(secret, "stringData")).toEqual({
      DATABASE_URL: postgresUrl(
        {
          host: "primary.db.internal",
          port: 5432,
          database: "parley",
          username: "parley_admin",
          password: fake.databasePassword,
        },
        rdsCaBundlePath,
      ),
      DATABASE_APP_PASSWORD: fake.appPassword,
      DATABASE_EXPORTER_PASSWORD: fake.exporterPassword,
    });
    const secretName = `${secret.name}-${mockHash(secret.name, 8)}`;
    const job = single(registrations, "kubernetes:batch/v1:Job");
    const jobEnv = get(job, "spec.template.spec.containers.0.env") as EnvVar[];
    expect(jobEnv.filter((variable) => variable.valueFrom)).toEqual(
      ["DATABASE_URL", "DATABASE_APP_PASSWORD", "DATABASE_EXPORTER_PASSWORD"].map((key) => ({
        name: key,
        valueFrom: { secretKeyRef: { name: secretName, key } },
      })),
    );
    const appEnv = (await container()).env as EnvVar[];
    expect(appEnv.filter((variable) => variable.valueFrom?.secretKeyRef?.name === secretName)).toEqual([]);
  });

  it("migrates with the primary URL before the Deployment, as the same image", async () => {
    const job = single(await run, "kubernetes:batch/v1:Job");
    const migrate = get(job, "spec.template.spec.containers.0") as Record<string, unknown>;
    expect(migrate.image).toBe((await container()).image);
    expect(migrate.command).toEqual(["node", "dist/app/main.js", "migrate"]);
    expect((migrate.env as EnvVar[]).map((variable) => variable.name)).toContain("DATABASE_URL");
    expect(get(job, "spec.template.spec.restartPolicy")).toBe("Never");
    expect(migrate.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("exposes Service parley through an ALB Ingress with the ACM certificate", async () => {
    const registrations = await run;
    const service = single(registrations, "kubernetes:core/v1:Service");
    expect(get(service, "metadata.name")).toBe("parley");
    const ingress = single(registrations, "kubernetes:networking.k8s.io/v1:Ingress");
    expect(get(ingress, "spec.ingressClassName")).toBe("alb");
    expect(get(ingress, "spec.rules.0.host")).toBe("chat.example.com");
    expect(get(ingress, "spec.rules.0.http.paths.0.backend.service")).toEqual({
      name: "parley",
      port: { name: "http" },
    });
    expect(get(ingress, "metadata.annotations")).toMatchObject({
      "alb.ingress.kubernetes.io/certificate-arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
      "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS":443}]',
      "alb.ingress.kubernetes.io/security-groups": "sg-0123456789abcdef0",
      "alb.ingress.kubernetes.io/target-type": "ip",
      "alb.ingress.kubernetes.io/target-group-attributes": `deregistration_delay.timeout_seconds=${deregistrationDelaySeconds}`,
    });
  });

  it("verifies Cloudflare's origin-pull client certificate on the HTTPS listener (ALB mTLS, verify mode)", async () => {
    const ingress = single(await run, "kubernetes:networking.k8s.io/v1:Ingress");
    const annotation = get(ingress, "metadata.annotations") as Record<string, string>;
    expect(JSON.parse(annotation["alb.ingress.kubernetes.io/mutual-authentication"])).toEqual([
      { port: 443, mode: "verify", trustStore: fakeTrustStoreArn, ignoreClientCertificateExpiry: false },
    ]);
  });

  it("tells the app to believe forwarding headers from the ALB's subnets and Cloudflare only, no other private peer", async () => {
    const env = (await container()).env as EnvVar[];
    const cidrs = env.find((variable) => variable.name === "TRUSTED_PROXY_CIDRS")?.value?.split(",");
    expect(cidrs).toEqual([...loadBalancerSubnetCidrs, ...cloudflareIpv4Ranges, ...cloudflareIpv6Ranges]);
    for (const privateRange of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "10.40.0.0/16"])
      expect(cidrs).not.toContain(privateRange);
  });

  it("routes only /api/* and the chat page through the Ingress: probes and metrics stay inside", async () => {
    const ingress = single(await run, "kubernetes:networking.k8s.io/v1:Ingress");
    const paths = get(ingress, "spec.rules.0.http.paths") as Array<{ path: string; pathType: string }>;
    // Kubernetes Ingress matching: Exact is the whole path; Prefix matches whole path elements.
    const routed = (requestPath: string) =>
      paths.some((p) =>
        p.pathType === "Exact"
          ? requestPath === p.path
          : requestPath === p.path || requestPath.startsWith(`${p.path.replace(/\/$/, "")}/`),
      );
    for (const open of [
      "/",
      "/assets/app-3f9a1c2b.js",
      "/assets/style-0a1b2c3d.css",
      "/api",
      "/api/auth/login",
      "/api/chatbots/1",
    ])
      expect(routed(open), open).toBe(true);
    for (const closed of ["/metrics", "/readyz", "/healthz", "/apix", "/metrics/", "/anything", "/assetsx"])
      expect(routed(closed), closed).toBe(false);
  });

  it("serves metrics on their own port, which only Prometheus reaches and the ServiceMonitor scrapes", async () => {
    const registrations = await run;
    const ports = (await container()).ports as Array<{ name: string; containerPort: number }>;
    const metrics = ports.find((port) => port.name === "metrics");
    expect(metrics?.containerPort).not.toBe(3000);
    const env = (await container()).env as EnvVar[];
    expect(env.find((variable) => variable.name === "METRICS_PORT")?.value).toBe(
      String(metrics?.containerPort),
    );
    const service = single(registrations, "kubernetes:core/v1:Service");
    expect(get(service, "spec.ports")).toContainEqual(
      expect.objectContaining({ name: "metrics", targetPort: "metrics" }),
    );
    const policies = Object.fromEntries(
      ofType(registrations, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((registration) => [
        get(registration, "metadata.name"),
        get(registration, "spec"),
      ]),
    );
    expect(field(policies["ingress-from-prometheus"], "ingress.0.ports")).toEqual([
      { protocol: "TCP", port: metrics?.containerPort },
    ]);
    expect(field(policies["ingress-from-load-balancer"], "ingress.0.ports")).toEqual([
      { protocol: "TCP", port: 3000 },
    ]);
  });

  it("scales with the HPA and protects with the PDB exactly as the policy derives", async () => {
    const registrations = await run;
    const hpa = single(registrations, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(get(hpa, "spec")).toEqual(hpaSpec(policy, "parley"));
    expect(get(hpa, "spec.metrics")).toContainEqual(
      expect.objectContaining({
        type: "Pods",
        pods: expect.objectContaining({ metric: { name: hpaRequestRateMetric } }),
      }),
    );
    const pdb = single(registrations, "kubernetes:policy/v1:PodDisruptionBudget");
    const selector = get(await deployment(), "spec.selector.matchLabels") as Record<string, string>;
    expect(get(pdb, "spec")).toEqual(pdbSpec(policy, selector));
  });

  it("admits only the load balancer's subnets (and Prometheus) and lets pods out only to their dependencies", async () => {
    const policies = Object.fromEntries(
      ofType(await run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((registration) => [
        get(registration, "metadata.name"),
        get(registration, "spec"),
      ]),
    );
    expect(policies["default-deny"]).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(field(policies["ingress-from-load-balancer"], "ingress")).toEqual([
      {
        from: loadBalancerSubnetCidrs.map((cidr) => ({ ipBlock: { cidr } })),
        ports: [{ protocol: "TCP", port: 3000 }],
      },
    ]);
    const egress = field(policies["egress-dependencies"], "egress") as Array<{
      ports: Array<{ port: number }>;
    }>;
    expect(egress.flatMap((rule) => rule.ports.map((port) => port.port)).sort((a, b) => a - b)).toEqual([
      53, 53, 80, 443, 5432, 6379,
    ]);
  });

  it("declares only objects that pass the upstream schemas", async () => {
    const { validated, errors } = await registeredObjectsSchemaErrors(await run);
    expect(validated).toBeGreaterThanOrEqual(13);
    expect(errors).toEqual({});
  });
});

describe("Workload with the OpenAI provider", () => {
  it("passes the provider settings and keeps the API key in the secret Secret", async () => {
    const registrations = await workload("dev", true);
    const secret = appSecret(registrations);
    expect(get(secret, "stringData.OPENAI_API_KEY")).toBe(fake.openaiApiKey);
    const env = get(
      single(registrations, "kubernetes:apps/v1:Deployment"),
      "spec.template.spec.containers.0.env",
    ) as EnvVar[];
    expect(env.find((variable) => variable.name === "AI_PROVIDER")?.value).toBe("openai");
    expect(env.find((variable) => variable.name === "OPENAI_API_KEY")?.valueFrom?.secretKeyRef.key).toBe(
      "OPENAI_API_KEY",
    );
    const plaintext = registrations.flatMap((registration) => plaintextStrings(registration.inputs));
    expect(plaintext.filter((text) => text.includes(fake.openaiApiKey))).toEqual([]);
  });
});

describe("connection URLs", () => {
  it("percent-encodes credentials so any generated password yields a valid URL, and verifies the server", () => {
    const url = new URL(
      postgresUrl(
        { host: "h", port: 5432, database: "parley", username: "u", password: "p@ss/w:rd?#" },
        "/srv/parley/certs/rds-global-bundle.pem",
      ),
    );
    expect(decodeURIComponent(url.password)).toBe("p@ss/w:rd?#");
    expect(url.searchParams.get("sslmode")).toBe("verify-full");
    expect(url.searchParams.get("sslrootcert")).toBe("/srv/parley/certs/rds-global-bundle.pem");
    expect(new URL(redisUrl({ host: "r", port: 6379, authToken: "t+k/n" })).protocol).toBe("rediss:");
  });

  it("parses in node-postgres as a verifying TLS connection with the bundle as its CA", () => {
    const dir = mkdtempSync(join(tmpdir(), "ca-"));
    try {
      writeFileSync(join(dir, "bundle.pem"), "PEM");
      const parsed = parse(
        postgresUrl(
          { host: "db.example", port: 5432, database: "parley", username: "u", password: "p" },
          join(dir, "bundle.pem"),
        ),
      );
      expect(parsed.ssl).toEqual({ ca: "PEM" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
