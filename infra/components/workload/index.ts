/**
 * The app workload: its namespace, ServiceAccount (Pod Identity), connection Secret (the app's
 * database role), the migration Job that runs before each rollout with a Secret of its own (the
 * master user and the roles' passwords), the Deployment, Service `parley`, the ALB Ingress, the HPA, the
 * PodDisruptionBudget and the NetworkPolicies. Capacity numbers come from the scaling policy.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { databaseRoles, rdsCaBundlePath } from "../../../contracts/database";
import type { AiProviderName } from "../../../contracts/enums";
import { type EnvironmentVariable, envVar } from "../../../contracts/environment";
import { scrapeJob } from "../../../contracts/metrics";
import { cloudflareIpv4Ranges, cloudflareIpv6Ranges } from "../../data/cloudflare-ips";
import { componentNaming, componentType } from "../../naming";
import { dbPoolEnv } from "../../scaling/database";
import { hpaSpec, pdbSpec } from "../../scaling/kubernetes";
import type { ScalingPolicy } from "../../scaling/policy";
import { albIngressClass } from "../cluster-services/controllers";
import { nodePoolLabel } from "../cluster-services/karpenter";
import type { AppScrapeTarget } from "../observability/service-monitor";
import { postgresUrl, redisUrl } from "./connection-urls";
import {
  appKeepAliveTimeoutSeconds,
  deregistrationDelaySeconds,
  loadBalancerIdleTimeoutSeconds,
  shutdownGraceSeconds,
} from "./draining";
import { publicRoutes } from "./ingress-routes";
import { networkPolicyNames, networkPolicySpecs } from "./network-policies";
import {
  appContainer,
  appPodSpec,
  appPort,
  containerSecurityContext,
  metricsPort,
  metricsPortName,
  portName,
} from "./pod";

/** Namespace and ServiceAccount of the app: the Pod Identity association names the same pair. */
export const appServiceAccount = { namespace: "parley", name: "parley" } as const;

/** The image's bundle migrates DATABASE_URL and exits when given `migrate` (app/src/main.ts). */
export const migrationCommand = ["node", "dist/app/main.js", "migrate"];

/**
 * The proxy chain in front of the pods: the ALB (its subnets) and Cloudflare's published ranges.
 * Nothing else, in particular no other private-range peer, may set the client address.
 */
export function trustedProxyCidrs(loadBalancerSubnetCidrs: string[]): string {
  return [...loadBalancerSubnetCidrs, ...cloudflareIpv4Ranges, ...cloudflareIpv6Ranges].join(",");
}

export interface AppSettings {
  logLevel: string;
  /** The app's Redis rate limits, shared by all pods. */
  rateLimits: { ipPerMinute: number; userPerMinute: number; loginPerMinute: number };
  aiProvider: AiProviderName;
  openai?: { baseUrl: string; model: string; apiKey: pulumi.Input<string> };
  /** Shown by parley_build_info. */
  version: string;
}

interface Credentials {
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export interface WorkloadArgs {
  provider: k8s.Provider;
  policy: ScalingPolicy;
  image: pulumi.Input<string>;
  app: AppSettings;
  /** The public host the Ingress serves and the ACM certificate for it. */
  publicHost: pulumi.Input<string>;
  certificateArn: pulumi.Input<string>;
  /** The ALB's security group (admits only Cloudflare's ranges); the controller adds the rule to the nodes. */
  loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** The listener's mTLS trust store: only Cloudflare's client certificate for this host gets through. */
  originTrustStoreArn: pulumi.Input<string>;
  network: { vpcCidr: pulumi.Input<string>; loadBalancerSubnetCidrs: pulumi.Input<string[]> };
  database: {
    primaryHost: pulumi.Input<string>;
    /** Each read replica's own RDS endpoint: the name its certificate carries (verify-full). */
    replicaHosts: pulumi.Input<string>[];
    port: pulumi.Input<number>;
    name: pulumi.Input<string>;
    /** The master user: only the migration Job gets it. */
    master: Credentials;
    /** The app's DML-only role. */
    app: Credentials;
    /** The exporter role's password: the migration Job sets it (app/src/db/roles.ts). */
    exporterPassword: pulumi.Input<string>;
  };
  cache: { host: pulumi.Input<string>; port: pulumi.Input<number>; authToken: pulumi.Input<string> };
  /** The Karpenter NodePool the pods run on. */
  nodePoolName: string;
  monitoringNamespace: pulumi.Input<string>;
  /** Cluster services the workload needs running first (the load balancer controller). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class Workload extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  /** The ALB's DNS name (Cloudflare's record points at it). */
  readonly loadBalancerHostname: pulumi.Output<string>;
  /** Where Prometheus finds the app's metrics (its ServiceMonitor). */
  readonly scrapeTarget: AppScrapeTarget;
  /** The Resources a ServiceMonitor for the app must wait for. */
  readonly readiness: pulumi.Resource[];

  constructor(name: string, args: WorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    // Its type token was "parley:workload:Workload": the alias keeps the deployed component and its children.
    super(
      componentType("Workload"),
      name,
      {},
      { ...opts, aliases: [{ type: "parley:workload:Workload" }, ...(opts?.aliases ?? [])] },
    );
    const names = componentNaming(name, args.policy.stack, "workload");
    const child = (extra?: pulumi.CustomResourceOptions): pulumi.CustomResourceOptions => ({
      parent: this,
      provider: args.provider,
      ...extra,
    });
    const selector = { "app.kubernetes.io/name": scrapeJob, "app.kubernetes.io/component": "api" };
    const labels = {
      ...selector,
      "app.kubernetes.io/part-of": "parley",
      "app.kubernetes.io/version": args.app.version,
    };

    const namespace = new k8s.core.v1.Namespace(
      names.name("namespace"),
      {
        metadata: {
          name: appServiceAccount.namespace,
          labels: {
            "pod-security.kubernetes.io/enforce": "restricted",
            // The ALB controller gates each new pod's readiness on its target being healthy, so a
            // rollout never outpaces the load balancer.
            "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
          },
        },
      },
      child({ dependsOn: args.dependsOn }),
    );
    const ns = namespace.metadata.name;
    this.namespace = ns;

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      names.name("service-account"),
      { metadata: { name: appServiceAccount.name, namespace: ns, labels } },
      child(),
    );

    const jwtSecret = new random.RandomPassword(
      names.name("jwt-secret"),
      { length: 64, special: false },
      { parent: this },
    );
    const database = args.database;
    const connection = (host: pulumi.Input<string>, credentials: Credentials) =>
      pulumi
        .all([host, database.port, database.name, credentials.username, credentials.password])
        .apply(([h, port, db, username, password]) =>
          postgresUrl({ host: h, port, database: db, username, password }, rdsCaBundlePath),
        );
    const secretData: Record<string, pulumi.Input<string>> = {
      [envVar.DATABASE_URL]: connection(database.primaryHost, database.app),
      ...(database.replicaHosts.length > 0
        ? {
            [envVar.DATABASE_REPLICA_URLS]: pulumi
              .all(database.replicaHosts.map((host) => connection(host, database.app)))
              .apply((urls) => urls.join(",")),
          }
        : {}),
      [envVar.REDIS_URL]: pulumi
        .all([args.cache.host, args.cache.port, args.cache.authToken])
        .apply(([host, port, authToken]) => redisUrl({ host, port, authToken })),
      [envVar.JWT_SECRET]: jwtSecret.result,
      ...(args.app.openai ? { [envVar.OPENAI_API_KEY]: args.app.openai.apiKey } : {}),
    };
    // No fixed name: a change of any value yields a new Secret name, which rolls the pods.
    const secret = new k8s.core.v1.Secret(
      names.name("env"),
      { metadata: { namespace: ns, labels }, type: "Opaque", stringData: pulumi.secret(secretData) },
      child(),
    );
    type RolePasswordVariable = (typeof databaseRoles)[keyof typeof databaseRoles]["passwordEnv"];
    const fromSecret = (
      key: EnvironmentVariable | RolePasswordVariable,
      from: k8s.core.v1.Secret = secret,
    ) => ({
      name: key,
      valueFrom: { secretKeyRef: { name: from.metadata.name, key } },
    });
    // The migration Job's own Secret: the master user's URL and the passwords it sets on the roles.
    const migrationSecret = new k8s.core.v1.Secret(
      names.name("migrate-env"),
      {
        metadata: { namespace: ns, labels: { ...labels, "app.kubernetes.io/component": "migrate" } },
        type: "Opaque",
        stringData: pulumi.secret({
          [envVar.DATABASE_URL]: connection(database.primaryHost, database.master),
          [databaseRoles.app.passwordEnv]: database.app.password,
          [databaseRoles.exporter.passwordEnv]: database.exporterPassword,
        }),
      },
      child(),
    );
    const plain = (envName: EnvironmentVariable, value: pulumi.Input<string>) => ({ name: envName, value });

    const dbPool = dbPoolEnv(args.policy);
    const env = [
      plain(envVar.PORT, String(appPort)),
      plain(envVar.METRICS_PORT, String(metricsPort)),
      ...([envVar.DATABASE_URL, envVar.DATABASE_REPLICA_URLS, envVar.REDIS_URL, envVar.JWT_SECRET] as const)
        .filter((key) => key in secretData)
        .map((key) => fromSecret(key)),
      plain(envVar.DB_POOL_MAX, dbPool[envVar.DB_POOL_MAX]),
      plain(envVar.DB_REPLICA_POOL_MAX, dbPool[envVar.DB_REPLICA_POOL_MAX]),
      plain(envVar.LOG_LEVEL, args.app.logLevel),
      plain(envVar.RATE_LIMIT_IP_PER_MINUTE, String(args.app.rateLimits.ipPerMinute)),
      plain(envVar.RATE_LIMIT_USER_PER_MINUTE, String(args.app.rateLimits.userPerMinute)),
      plain(envVar.RATE_LIMIT_LOGIN_PER_MINUTE, String(args.app.rateLimits.loginPerMinute)),
      plain(envVar.SHUTDOWN_GRACE_MS, String(shutdownGraceSeconds * 1000)),
      plain(envVar.HTTP_KEEP_ALIVE_TIMEOUT_MS, String(appKeepAliveTimeoutSeconds * 1000)),
      plain(envVar.AI_PROVIDER, args.app.aiProvider),
      ...(args.app.openai
        ? [
            plain(envVar.OPENAI_BASE_URL, args.app.openai.baseUrl),
            plain(envVar.OPENAI_MODEL, args.app.openai.model),
            fromSecret(envVar.OPENAI_API_KEY),
          ]
        : []),
      plain(envVar.APP_VERSION, args.app.version),
      plain(
        envVar.TRUSTED_PROXY_CIDRS,
        pulumi.output(args.network.loadBalancerSubnetCidrs).apply(trustedProxyCidrs),
      ),
    ];
    const nodeSelector = { [nodePoolLabel]: args.nodePoolName };

    // Runs to completion before the Deployment changes; a new image or Secret replaces it (no fixed
    // name), so every rollout migrates first. Migrations are idempotent, a re-run is harmless; it also
    // creates the app's and the exporter's roles and sets their passwords (a new one rotates).
    const migration = new k8s.batch.v1.Job(
      names.name("migrate"),
      {
        metadata: { namespace: ns, labels: { ...labels, "app.kubernetes.io/component": "migrate" } },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 600,
          template: {
            metadata: { labels: { ...labels, "app.kubernetes.io/component": "migrate" } },
            spec: appPodSpec({
              serviceAccountName: serviceAccount.metadata.name,
              selector: { ...selector, "app.kubernetes.io/component": "migrate" },
              nodeSelector,
              restartPolicy: "Never",
              containers: [
                {
                  name: "migrate",
                  image: args.image,
                  command: migrationCommand,
                  env: [
                    ...(
                      [
                        envVar.DATABASE_URL,
                        databaseRoles.app.passwordEnv,
                        databaseRoles.exporter.passwordEnv,
                      ] as const
                    ).map((key) => fromSecret(key, migrationSecret)),
                    plain(envVar.LOG_LEVEL, args.app.logLevel),
                  ],
                  securityContext: containerSecurityContext,
                  volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                  resources: {
                    requests: { cpu: "100m", memory: "256Mi" },
                    limits: { cpu: "500m", memory: "256Mi" },
                  },
                },
              ],
            }),
          },
        },
      },
      child(),
    );

    const deployment = new k8s.apps.v1.Deployment(
      names.name("deployment"),
      {
        metadata: { name: scrapeJob, namespace: ns, labels },
        spec: {
          // No `replicas`: the HPA owns the count (a fixed number would reset it on every update).
          selector: { matchLabels: selector },
          revisionHistoryLimit: 5,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
          template: {
            metadata: { labels },
            spec: appPodSpec({
              serviceAccountName: serviceAccount.metadata.name,
              selector,
              nodeSelector,
              containers: [appContainer({ policy: args.policy, image: args.image, env })],
            }),
          },
        },
      },
      child({ dependsOn: [migration] }),
    );

    // Named after the scrape job: Prometheus Operator labels the targets job="parley".
    const service = new k8s.core.v1.Service(
      names.name("service"),
      {
        metadata: { name: scrapeJob, namespace: ns, labels },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [
            { name: portName, port: 80, targetPort: portName, protocol: "TCP" },
            { name: metricsPortName, port: metricsPort, targetPort: metricsPortName, protocol: "TCP" },
          ],
        },
      },
      child(),
    );
    this.serviceName = service.metadata.name;
    this.scrapeTarget = {
      namespace: appServiceAccount.namespace,
      serviceName: scrapeJob,
      selector,
      portName: metricsPortName,
    };

    const annotation = (key: string) => `alb.ingress.kubernetes.io/${key}`;
    const ingress = new k8s.networking.v1.Ingress(
      names.name("ingress"),
      {
        metadata: {
          name: scrapeJob,
          namespace: ns,
          labels,
          annotations: {
            [annotation("scheme")]: "internet-facing",
            [annotation("target-type")]: "ip",
            [annotation("listen-ports")]: JSON.stringify([{ HTTPS: 443 }]),
            [annotation("certificate-arn")]: args.certificateArn,
            [annotation("ssl-policy")]: "ELBSecurityPolicy-TLS13-1-2-2021-06",
            [annotation("security-groups")]: args.loadBalancerSecurityGroupId,
            // mTLS in verify mode: the handshake fails without the client certificate Cloudflare
            // presents for this host (kubernetes-sigs.github.io/aws-load-balancer-controller,
            // ingress annotations, "mutual-authentication").
            [annotation("mutual-authentication")]: pulumi
              .output(args.originTrustStoreArn)
              .apply((trustStore) =>
                JSON.stringify([
                  { port: 443, mode: "verify", trustStore, ignoreClientCertificateExpiry: false },
                ]),
              ),
            [annotation("manage-backend-security-group-rules")]: "true",
            [annotation("healthcheck-path")]: "/readyz",
            [annotation("load-balancer-attributes")]: [
              `idle_timeout.timeout_seconds=${loadBalancerIdleTimeoutSeconds}`,
              "routing.http.drop_invalid_header_fields.enabled=true",
            ].join(","),
            [annotation("target-group-attributes")]:
              `deregistration_delay.timeout_seconds=${deregistrationDelaySeconds}`,
          },
        },
        spec: {
          ingressClassName: albIngressClass,
          rules: [
            {
              host: args.publicHost,
              http: {
                // Only the API and the chat page: /healthz, /readyz and anything else get the ALB's 404.
                paths: publicRoutes().map((route) => ({
                  ...route,
                  backend: { service: { name: service.metadata.name, port: { name: portName } } },
                })),
              },
            },
          ],
        },
      },
      child({ dependsOn: [deployment] }),
    );
    this.loadBalancerHostname = ingress.status.loadBalancer.ingress[0].hostname;

    // Named after the scrape job: ParleyHPAMaxedOut selects horizontalpodautoscaler="parley".
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      names.name("hpa"),
      {
        metadata: { name: scrapeJob, namespace: ns, labels },
        spec: hpaSpec(args.policy, scrapeJob),
      },
      child({ dependsOn: [deployment] }),
    );
    new k8s.policy.v1.PodDisruptionBudget(
      names.name("pdb"),
      { metadata: { name: scrapeJob, namespace: ns, labels }, spec: pdbSpec(args.policy, selector) },
      child(),
    );

    const policies = pulumi
      .all([
        args.network.vpcCidr,
        args.network.loadBalancerSubnetCidrs,
        args.monitoringNamespace,
        database.port,
        args.cache.port,
      ])
      .apply(([vpcCidr, loadBalancerSubnetCidrs, monitoringNamespace, postgresPort, redisPort]) =>
        networkPolicySpecs({
          appSelector: selector,
          appPort,
          metricsPort,
          loadBalancerSubnetCidrs,
          monitoringNamespace,
          vpcCidr,
          postgresPort,
          redisPort,
        }),
      );
    for (const policyName of networkPolicyNames) {
      new k8s.networking.v1.NetworkPolicy(
        names.name("netpol", policyName),
        {
          metadata: { name: policyName, namespace: ns, labels },
          spec: policies.apply((all) => all[policyName]),
        },
        child(),
      );
    }

    this.readiness = [namespace, service];
    this.registerOutputs({
      namespace: this.namespace,
      serviceName: this.serviceName,
      loadBalancerHostname: this.loadBalancerHostname,
    });
  }
}
