/**
 * The stack config: one typed, validated view of `Pulumi.<stack>.yaml`. `loadStackConfig()` runs
 * before any resource is declared; a bad value stops the program with a message that names the key,
 * the value and what is allowed. Settings live in the `parley` namespace, except the AWS region,
 * which is the AWS provider's own `aws:region` (one place, read by both the provider and this module).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { aiProviders, logLevels } from "../contracts/enums";
import { type StackName, stackNames } from "../contracts/stacks";
import { type ReceiverSecretValues, receiverSecretStackKeys } from "../observability/alertmanager";
import { durationSeconds, sloWindow } from "../observability/config/slo";
import {
  allowedEdgeRateLimits,
  type EdgeRateLimitKind,
  edgeRateLimitKinds,
  zonePlans,
} from "./components/edge-plan";
import { scalingPolicyFor } from "./scaling/policy";

const configNamespace = "parley";

/** One NAT gateway per AZ (resilient) or a single one (cheap; dev only). */
export type NatGatewayMode = SettingValues["parley:natGateways"];

/** Secrets of the production Alertmanager receivers (observability/alertmanager reads them from files). */
export type AlertReceiverSecrets = ReceiverSecretValues<pulumi.Output<string>>;

/** The receiver secrets' keys: set all of them (alerts notify) or none (alerts notify nobody). */
export const alertReceiverKeys = receiverSecretStackKeys;

export interface StackConfig {
  stack: StackName;
  /** AWS region (`aws:region`). */
  region: string;
  /** How many availability zones the VPC, the node groups and the data stores span. */
  availabilityZones: number;
  vpcCidr: string;
  /** One NAT gateway per AZ (resilient) or a single one (cheap; dev only). */
  natGateways: SettingValues["parley:natGateways"];
  kubernetesVersion: SettingValues["parley:kubernetesVersion"];
  /** CIDRs allowed to reach the EKS API's public endpoint. */
  clusterApiAllowedCidrs: string[];
  /** IAM principals granted cluster-admin through EKS access entries (include the one running `pulumi up`). */
  clusterAdminPrincipalArns: string[];
  /** IAM principals that may only read the cluster, Secrets excepted (AmazonEKSViewPolicy): PR previews. */
  clusterViewerPrincipalArns: string[];
  /** IAM principals that may read the cluster, Secrets included (AmazonEKSAdminViewPolicy): plans, drift. */
  clusterAuditorPrincipalArns: string[];
  /** Static egress addresses of the CI runners that reach the cluster API; inside clusterApiAllowedCidrs. */
  pipelineEgressCidrs: string[];
  /** The public host name served through Cloudflare, e.g. `chat.example.com`. */
  publicHost: string;
  cloudflareZoneId: string;
  /** The zone's Cloudflare plan: the edge declares only what it allows (infra/components/edge-plan.ts). */
  cloudflareZonePlan: SettingValues["parley:cloudflareZonePlan"];
  /** This stack declares the zone-wide singletons (settings, entry-point rulesets); one stack per zone. */
  cloudflareZoneOwner: boolean;
  /** Edge rate limits on this stack's host (owner only; what the plan allows by default). */
  edgeRateLimits: EdgeRateLimitKind[];
  ecrRepositoryName: string;
  /**
   * The app image tag the workload runs (the GitOps pipeline commits it). Unset: the platform stage
   * of a first deploy, before any image exists — everything but the app workload is declared.
   */
  imageTag?: string;
  /** The digest of that image (`sha256:…`) the pipeline recorded; when set, it must be the digest ECR holds for the tag. */
  imageDigest?: string;
  /**
   * Whether this stack creates the account's `AWSServiceRoleForEC2Spot` (needed when the scaling
   * policy allows Spot). `existing` when the account already has it, e.g. a second stack in it.
   */
  spotServiceLinkedRole: SettingValues["parley:spotServiceLinkedRole"];
  /** Karpenter's AMI selector alias for the app's nodes: `al2023@v<YYYYMMDD>` (pinned) or `al2023@latest`. */
  karpenterAmiAlias: string;
  databaseName: string;
  dbBackupRetentionDays: number;
  /** Retention of CloudWatch log groups (VPC flow logs, EKS control plane, container logs). */
  logRetentionDays: number;
  /** Cloudflare rate limits per client IP. */
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
  /** The app's own rate limits, counted in Redis across all pods (RATE_LIMIT_IP/USER/LOGIN_PER_MINUTE). */
  appRateLimits: { ipPerMinute: number; userPerMinute: number; loginPerMinute: number };
  /** The app's LOG_LEVEL. */
  logLevel: SettingValues["parley:logLevel"];
  /** The app's AI_PROVIDER; `openai` needs `openai.apiKey`. */
  aiProvider: SettingValues["parley:aiProvider"];
  openai: { baseUrl: string; model: string; apiKey?: pulumi.Output<string> };
  /** How long Prometheus keeps samples (Prometheus duration, e.g. `30d`) and the size of its volume. */
  prometheusRetention: string;
  prometheusStorageGiB: number;
  /** The whole service's monthly AI budget in USD: `ParleyAISpendOverBudget` fires when the projected spend passes it. */
  aiMonthlyBudgetUsd: number;
  /** Unset: Alertmanager runs the same routes with receivers that notify nobody. */
  alertReceivers?: AlertReceiverSecrets;
}

/**
 * Thrown when the stack config is invalid; `issues` holds one readable line per problem. A RunError, so
 * `pulumi up` prints the message alone, without a stack trace.
 */
export class StackConfigError extends pulumi.RunError {
  constructor(readonly issues: string[]) {
    super(`Invalid stack config:\n${issues.map((issue) => `  - ${issue}`).join("\n")}`);
    this.name = "StackConfigError";
  }
}

const ipv4Octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const ipv4Cidr = new RegExp(`^(${ipv4Octet}\\.){3}${ipv4Octet}/(3[0-2]|[12]?\\d)$`);
const hostname = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const logRetentionValues = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 3653];

/** Pulumi passes every config value as a string; numbers are accepted in their string form. */
const integer = (min: number, max: number) =>
  z.preprocess(
    (value) => (typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value),
    z.number().int().min(min).max(max),
  );

/** Lists arrive as JSON text from the engine (structured config) and as arrays from tests. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => {
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }, z.array(item).min(1));

const cidr = z.string().regex(ipv4Cidr);
const iamPrincipalArn = z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/);

/** The address range of an IPv4 CIDR as [first, last] 32-bit integers. */
function cidrRange(value: string): [number, number] {
  const [address = "", prefix = "32"] = value.split("/");
  const base = address.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(prefix));
  const first = base - (base % size);
  return [first, first + size - 1];
}

/** Whether every address of `inner` is inside `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const [outerFirst, outerLast] = cidrRange(outer);
  const [innerFirst, innerLast] = cidrRange(inner);
  return innerFirst >= outerFirst && innerLast <= outerLast;
}

/** What the README's configuration table and the error messages say about a setting. */
type SettingDoc = {
  /** The README's "meaning" column. */
  meaning: string;
  /** What is allowed, in words, for the error message. */
  allowed: string;
  /** The README's "default" column when the per-stack defaults alone do not say it. */
  defaultNote?: string;
};

/** Each setting's schema carries its doc in this registry (zod's typed metadata). */
export const settingDocs = z.registry<SettingDoc>();

/** An optional secret setting: a non-empty string. */
const secretSetting = (what: string, meaning: string) =>
  z
    .string()
    .min(1)
    .optional()
    .register(settingDocs, { meaning, allowed: `${what}, non-empty (set it with --secret)` });

/**
 * Every setting of a stack: one zod schema per key, its default for that stack (`.default()`), or
 * `.optional()` when unset is meaningful; a key with neither is required in that stack. The
 * StackConfig types come from these schemas (`z.output`), and the README's table from their docs
 * (`npm run docs:config`).
 */
export function stackSettings(stack: StackName) {
  return {
    "aws:region": z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/)
      .register(settingDocs, {
        meaning: "AWS region (also the provider's)",
        allowed: "an AWS region name such as eu-west-1",
        defaultNote: "required; a region the scaling price table covers (us-east-1)",
      }),
    "parley:availabilityZones": integer(2, 3)
      .default(scalingPolicyFor(stack).availabilityZones)
      .register(settingDocs, {
        meaning: "AZs for subnets, nodes, replicas",
        allowed:
          "2 or 3 (the subnet plan splits the VPC into quarters: one private subnet per AZ, public and data subnets in the last)",
        defaultNote: "the scaling policy's (3); 2–3, prod 3",
      }),
    "parley:vpcCidr": cidr
      .refine((value) => {
        const prefix = Number(value.split("/")[1]);
        return prefix >= 16 && prefix <= 18;
      })
      .register(settingDocs, {
        meaning: "VPC CIDR, /16–/18 (each AZ gets a quarter for nodes and pod IPs)",
        allowed: "an IPv4 CIDR with a /16 to /18 prefix (room for VPC-CNI pod IPs), e.g. 10.40.0.0/16",
      }),
    "parley:natGateways": z.enum(["perAz", "single"]).default("perAz").register(settingDocs, {
      meaning: "`perAz` or `single` (dev only)",
      allowed: '"perAz" or "single"',
    }),
    "parley:kubernetesVersion": z.enum(["1.34", "1.35", "1.36"]).default("1.35").register(settingDocs, {
      meaning: "EKS version: 1.34, 1.35, 1.36",
      allowed: "an EKS version in standard support: 1.34, 1.35 or 1.36",
    }),
    "parley:clusterApiAllowedCidrs": list(cidr).register(settingDocs, {
      meaning: "CIDRs allowed to the EKS public endpoint (no /0 in prod)",
      allowed: 'a non-empty list of IPv4 CIDRs, e.g. ["203.0.113.0/24"]',
    }),
    "parley:clusterAdminPrincipalArns": list(iamPrincipalArn).register(settingDocs, {
      meaning: "IAM role/user ARNs granted cluster-admin",
      allowed:
        'a non-empty list of IAM role or user ARNs, e.g. ["arn:aws:iam::123456789012:role/platform-admin"]',
    }),
    "parley:clusterViewerPrincipalArns": list(iamPrincipalArn).default([]).register(settingDocs, {
      meaning: "ARNs with EKS view access, no Secrets (the PR preview roles)",
      allowed:
        'a non-empty list of IAM role or user ARNs (view access without Secrets), e.g. ["arn:aws:iam::123456789012:role/parley-prod-preview"]',
      defaultNote: "none",
    }),
    "parley:clusterAuditorPrincipalArns": list(iamPrincipalArn).default([]).register(settingDocs, {
      meaning: "ARNs with EKS view access incl. Secrets (the plan/drift roles)",
      allowed:
        'a non-empty list of IAM role or user ARNs (view access including Secrets), e.g. ["arn:aws:iam::123456789012:role/parley-prod-plan"]',
      defaultNote: "none",
    }),
    "parley:pipelineEgressCidrs": list(cidr).default([]).register(settingDocs, {
      meaning: "static egress CIDRs of the pipeline's runners; inside the API CIDRs",
      allowed:
        'a non-empty list of IPv4 CIDRs: the static egress addresses of the runner group the pipeline uses, e.g. ["203.0.113.16/29"]',
      defaultNote: "none (the pipeline then cannot reach the cluster)",
    }),
    "parley:publicHost": z.string().regex(hostname).register(settingDocs, {
      meaning: "public host served through Cloudflare",
      allowed: "a lower-case DNS host name such as chat.example.com",
    }),
    "parley:cloudflareZoneId": z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .register(settingDocs, {
        meaning: "Cloudflare zone id of that host",
        allowed: "a Cloudflare zone id (32 lower-case hex characters)",
      }),
    // The Cloudflare zone both stacks share: its plan, and which one stack owns its zone-wide singletons.
    "parley:cloudflareZonePlan": z
      .enum(zonePlans)
      .default("free")
      .register(settingDocs, {
        meaning: "the zone's Cloudflare plan; the edge declares only what it allows",
        allowed: `the zone's Cloudflare plan: one of ${zonePlans.join(", ")}`,
      }),
    "parley:cloudflareZoneOwner": z
      .preprocess((value) => (value === "true" ? true : value === "false" ? false : value), z.boolean())
      .default(false)
      .register(settingDocs, {
        meaning: "this stack declares the zone-wide settings and rulesets (one stack per zone)",
        allowed:
          "true (this stack declares the zone's settings and rulesets; exactly one stack per zone) or false",
      }),
    "parley:edgeRateLimits": z
      .preprocess(
        (value) => {
          try {
            return typeof value === "string" ? JSON.parse(value) : value;
          } catch {
            return value;
          }
        },
        z.array(z.enum(edgeRateLimitKinds)),
      )
      .optional()
      .register(settingDocs, {
        meaning: "edge rate limits on this stack's host (zone owner only)",
        allowed: `a list of edge rate limits from ${JSON.stringify(edgeRateLimitKinds)}, e.g. ["api","login"] or []`,
        defaultNote: "what the zone's plan allows (owner), else none",
      }),
    "parley:ecrRepositoryName": z
      .string()
      .regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/)
      .default(`parley-${stack}`)
      .register(settingDocs, {
        meaning: "ECR repository for the app",
        allowed: "an ECR repository name (lower-case letters, digits, . _ - and /)",
        defaultNote: "`parley-<stack>`",
      }),
    "parley:imageTag": z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
      .optional()
      .register(settingDocs, {
        meaning: "app image tag deployed (not `latest` in prod; the pipeline commits it)",
        allowed:
          "a container image tag (letters, digits, _ . -, at most 128 characters); leave it unset until the first image is pushed",
        defaultNote: "unset: platform stage of a first deploy, no app workload",
      }),
    "parley:spotServiceLinkedRole": z.enum(["create", "existing"]).default("create").register(settingDocs, {
      meaning: "`create` the account's `AWSServiceRoleForEC2Spot` (Spot stacks), or `existing`",
      allowed:
        '"create" (this stack creates AWSServiceRoleForEC2Spot) or "existing" (the account already has it)',
    }),
    "parley:karpenterAmiAlias": (stack === "prod"
      ? karpenterAmiAlias
      : karpenterAmiAlias.default("al2023@latest")
    ).register(settingDocs, {
      meaning: "AMI of Karpenter's nodes: `al2023@v<YYYYMMDD>` (pinned) or `@latest`",
      allowed:
        'an AL2023 alias: "al2023@v<YYYYMMDD>" (a released EKS AMI version) or "al2023@latest" (not in prod)',
      defaultNote: "`al2023@latest`; required and pinned in prod",
    }),
    "parley:imageDigest": z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/)
      .optional()
      .register(settingDocs, {
        meaning: "that image's `sha256:` digest; the workload runs `…:<tag>@<digest>`",
        allowed:
          "an image digest: sha256: and 64 lower-case hex characters (the pipeline records it on release)",
        defaultNote: "none (the pipeline commits it and deploys only with it)",
      }),
    "parley:databaseName": z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/)
      .default("parley")
      .register(settingDocs, {
        meaning: "PostgreSQL database name",
        allowed: "a PostgreSQL database name (lower-case letter first, then letters, digits or _)",
      }),
    "parley:dbBackupRetentionDays": integer(7, 35)
      .default(7)
      .register(settingDocs, { meaning: "RDS backups, 7–35 days", allowed: "an integer from 7 to 35" }),
    "parley:logRetentionDays": z
      .preprocess(
        (value) => (typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value),
        z.number().refine((value) => logRetentionValues.includes(value)),
      )
      .default(30)
      .register(settingDocs, {
        meaning: "CloudWatch retention (flow logs, EKS, Redis slow log)",
        allowed: `one of CloudWatch's retention periods: ${logRetentionValues.join(", ")}`,
      }),
    "parley:apiRateLimitPerMinute": integer(10, 100_000).default(600).register(settingDocs, {
      meaning: "Cloudflare limit per client IP on `/api/`",
      allowed: "an integer from 10 to 100000 (requests per minute per client IP)",
    }),
    "parley:loginRateLimitPerMinute": integer(1, 1000).default(10).register(settingDocs, {
      meaning: "stricter limit on `POST /api/auth/login`",
      allowed: "an integer from 1 to 1000 (login attempts per minute per client IP)",
    }),
    // The app's limits, counted in Redis across all pods (app/src/http/rate-limit.ts); same bounds and
    // defaults as the app's own environment (contracts/environment.ts).
    "parley:appRateLimitIpPerMinute": integer(1, 1_000_000).default(1200).register(settingDocs, {
      meaning:
        "the app's RATE_LIMIT_IP_PER_MINUTE: API requests per minute per client IP, counted by the app",
      allowed: "an integer from 1 to 1000000",
    }),
    "parley:appRateLimitUserPerMinute": integer(1, 1_000_000).default(600).register(settingDocs, {
      meaning: "the app's RATE_LIMIT_USER_PER_MINUTE, counted in Redis across all pods",
      allowed: "an integer from 1 to 1000000 (API requests per minute per signed-in user)",
    }),
    "parley:appRateLimitLoginPerMinute": integer(1, 1_000_000).default(10).register(settingDocs, {
      meaning:
        "the app's RATE_LIMIT_LOGIN_PER_MINUTE: login attempts per minute per client IP, counted by the app",
      allowed: "an integer from 1 to 1000000",
    }),
    "parley:logLevel": z
      .enum(logLevels)
      .default("info")
      .register(settingDocs, { meaning: "the app's LOG_LEVEL", allowed: `one of ${logLevels.join(", ")}` }),
    "parley:aiProvider": z.enum(aiProviders).default("knowledge").register(settingDocs, {
      meaning: "the app's AI_PROVIDER; `openai` needs `parley:openaiApiKey`",
      allowed: '"knowledge" (built in, no network) or "openai" (an OpenAI-compatible API)',
    }),
    "parley:openaiBaseUrl": z
      .string()
      .regex(/^https:\/\/[^\s/]+(\/\S*)?$/)
      .default("https://api.openai.com/v1")
      .register(settingDocs, {
        meaning: "OpenAI-compatible API the app calls",
        allowed: "an https:// URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1",
      }),
    "parley:openaiModel": z.string().min(1).default("gpt-4o-mini").register(settingDocs, {
      meaning: "model name the app asks for",
      allowed: "a model name, e.g. gpt-4o-mini",
    }),
    // Secrets (`pulumi config set --secret`): only ever emptiness is reported, never the value.
    "parley:openaiApiKey": secretSetting("the OpenAI API key", "OpenAI API key (secret)"),
    "parley:pagerdutyRoutingKey": secretSetting(
      "the PagerDuty Events v2 routing key of the paging service",
      "PagerDuty Events v2 routing key of the paging service (secret; required in prod)",
    ),
    "parley:slackTicketsWebhookUrl": secretSetting(
      "the Slack incoming-webhook URL of the tickets channel",
      "Slack incoming-webhook URL of the tickets channel (secret; required in prod)",
    ),
    "parley:deadMansSwitchUrl": secretSetting(
      "the URL of the dead man's switch the always-firing Watchdog is sent to (it pages when the heartbeat stops)",
      "URL the always-firing Watchdog is sent to; it pages when the heartbeat stops (secret; required in prod)",
    ),
    "parley:prometheusRetention": z
      .string()
      .regex(/^[1-9]\d*[dw]$/)
      // The 30-day SLI and error budget are computed from recorded series: a shorter retention
      // silently turns them into shorter-window figures.
      .refine((value) => retentionDays(value) >= durationSeconds(sloWindow) / 86_400)
      .default(sloWindow)
      .register(settingDocs, {
        meaning: "how long Prometheus keeps samples; covers the SLO window",
        allowed: `a Prometheus retention in days or weeks covering the ${sloWindow} SLO window, e.g. 30d or 5w`,
      }),
    "parley:prometheusStorageGiB": integer(10, 4096)
      .default(stack === "prod" ? 200 : 20)
      .register(settingDocs, {
        meaning: "size of the Prometheus volume, GiB",
        allowed: "an integer from 10 to 4096 (GiB of the Prometheus volume)",
      }),
    "parley:aiMonthlyBudgetUsd": integer(1, 10_000_000)
      // prod: the projected AI spend at 10k users ($25k of a $26k bill).
      .default(stack === "prod" ? 25_000 : 500)
      .register(settingDocs, {
        meaning: "AI spend budget of the whole service, USD/month (spend alert)",
        allowed: "an integer from 1 to 10000000 (US dollars of AI spend per month, whole service)",
      }),
  };
}

const karpenterAmiAlias = z.string().regex(/^al2023@(latest|v\d{8})$/);

type Settings = ReturnType<typeof stackSettings>;
type SettingKey = keyof Settings;
/** Every setting's value once parsed, defaults applied: the types come from the schemas. */
type SettingValues = z.output<z.ZodObject<Settings>>;

/**
 * Secrets a stack needs that are typed in at bootstrap (`pulumi config set --secret`), so a fresh
 * clone's stack file may not hold them yet. The offline plan assumes them set, and says so.
 */
export const bootstrapSecretKeys: Record<StackName, readonly SettingKey[]> = {
  prod: alertReceiverKeys,
  dev: [],
};

const describe = (value: unknown) => JSON.stringify(value);

/** Rules between settings, and rules that differ per stack. */
function crossChecks(config: StackConfig): string[] {
  const issues: string[] = [];
  if (config.stack === "prod") {
    if (config.natGateways !== "perAz") {
      issues.push(
        `parley:natGateways = ${describe(config.natGateways)} is not allowed in prod: a single NAT gateway is one AZ's outage away from cutting every node off; use "perAz"`,
      );
    }
    const open = config.clusterApiAllowedCidrs.filter((value) => value.endsWith("/0"));
    if (open.length > 0) {
      issues.push(
        `parley:clusterApiAllowedCidrs = ${describe(config.clusterApiAllowedCidrs)} is not allowed in prod: the EKS public endpoint must be limited to known networks, not ${open.join(", ")}`,
      );
    }
    if (config.imageTag === "latest") {
      issues.push(
        `parley:imageTag = "latest" is not allowed in prod: deploy an immutable tag (the commit's), e.g. "sha-1a2b3c4"`,
      );
    }
    if (config.karpenterAmiAlias.endsWith("@latest")) {
      issues.push(
        `parley:karpenterAmiAlias = ${describe(config.karpenterAmiAlias)} is not allowed in prod: pin a released AMI version, e.g. "al2023@v20240807", and roll newer ones out through dev first`,
      );
    }
    if (!config.alertReceivers) {
      issues.push(
        `${alertReceiverKeys.join(", ")} are required in prod: Alertmanager would notify nobody. Set each with \`pulumi config set --secret <key> --stack prod\``,
      );
    }
    if (config.availabilityZones < 3) {
      issues.push(
        `parley:availabilityZones = ${config.availabilityZones} is not allowed in prod: Multi-AZ data stores and replicas need 3`,
      );
    }
  }
  // The pipeline reaches the public endpoint from its runners' static addresses: each must be admitted.
  const unreachable = config.pipelineEgressCidrs.filter(
    (egress) => !config.clusterApiAllowedCidrs.some((allowed) => cidrContains(allowed, egress)),
  );
  if (unreachable.length > 0) {
    issues.push(
      `parley:pipelineEgressCidrs = ${describe(config.pipelineEgressCidrs)} is not allowed: ${unreachable.join(", ")} is outside parley:clusterApiAllowedCidrs = ${describe(config.clusterApiAllowedCidrs)}, so the pipeline could not reach the cluster API`,
    );
  }
  // A read-only principal that is also an admin is not read-only.
  for (const key of ["clusterViewerPrincipalArns", "clusterAuditorPrincipalArns"] as const) {
    const admins = config[key].filter((arn) => config.clusterAdminPrincipalArns.includes(arn));
    if (admins.length > 0) {
      issues.push(
        `parley:${key} = ${describe(config[key])} is not allowed: ${admins.join(", ")} is also in parley:clusterAdminPrincipalArns; a read-only principal gets no admin access entry`,
      );
    }
  }
  if (config.aiProvider === "openai" && !config.openai.apiKey) {
    issues.push(
      'parley:aiProvider = "openai" needs parley:openaiApiKey: set it with `pulumi config set --secret parley:openaiApiKey <key>`',
    );
  }
  issues.push(...edgeChecks(config));
  if (config.loginRateLimitPerMinute >= config.apiRateLimitPerMinute) {
    issues.push(
      `parley:loginRateLimitPerMinute = ${config.loginRateLimitPerMinute} is not allowed: it must be stricter (lower) than parley:apiRateLimitPerMinute = ${config.apiRateLimitPerMinute}`,
    );
  }
  return issues;
}

/** Edge features the zone's plan, or this stack's role in the zone, does not allow. */
function edgeChecks(config: StackConfig): string[] {
  const requested = config.edgeRateLimits;
  if (requested.length === 0) return [];
  if (!config.cloudflareZoneOwner) {
    return [
      `parley:edgeRateLimits = ${describe(requested)} is not allowed when parley:cloudflareZoneOwner is false: rate limits live in the zone's one entry-point ruleset, which the owning stack declares; expected []`,
    ];
  }
  const allowed = allowedEdgeRateLimits(config.cloudflareZonePlan);
  const unavailable = requested.filter((kind) => !allowed.includes(kind));
  if (unavailable.length === 0) return [];
  const why =
    allowed.length === 0
      ? "its rate-limiting rules match on the path only and cannot be scoped to parley:publicHost (the app's own limits apply instead)"
      : `it allows ${allowed.length} host-scoped rate-limiting rule(s)`;
  return [
    `parley:edgeRateLimits = ${describe(requested)} is not allowed on the ${describe(config.cloudflareZonePlan)} plan (parley:cloudflareZonePlan): ${why}; expected a subset of ${describe(allowed)}`,
  ];
}

/**
 * Validates raw config (full keys such as `parley:vpcCidr` and `aws:region`; values as Pulumi passes
 * them: strings, or already-parsed values) for a stack. Throws a StackConfigError listing every problem.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string): StackConfig {
  const stackName = stackNames.find((name) => name === stack);
  if (stackName === undefined) {
    throw new StackConfigError([
      `stack ${describe(stack)} is not supported: expected one of ${stackNames.join(", ")} (Pulumi.<stack>.yaml)`,
    ]);
  }
  const settings = stackSettings(stackName);
  const issues: string[] = [];
  const known = Object.keys(settings);
  for (const key of Object.keys(raw)) {
    if (key.startsWith(`${configNamespace}:`) && !known.includes(key)) {
      issues.push(`${key} is not a known setting: expected one of ${known.join(", ")}`);
    }
  }

  const parsed = z.object(settings).safeParse(raw);
  if (!parsed.success) {
    const invalid = new Set(parsed.error.issues.map((issue) => String(issue.path[0])));
    for (const [key, schema] of Object.entries(settings)) {
      if (!invalid.has(key)) continue;
      const allowed = settingDocs.get(schema)?.allowed;
      const given = raw[key];
      if (given === undefined) {
        // Required here although another stack has a default (e.g. a pinned AMI in prod only).
        const elsewhere = stackNames.some((other) =>
          Object.entries(stackSettings(other)).some(
            ([otherKey, otherSchema]) => otherKey === key && otherSchema.safeParse(undefined).success,
          ),
        );
        issues.push(`${key} is required${elsewhere ? ` in ${stackName}` : ""}: expected ${allowed}`);
      } else {
        issues.push(`${key} = ${describe(given)} is not allowed: expected ${allowed}`);
      }
    }
  }
  if (issues.length > 0 || !parsed.success) throw new StackConfigError(issues);
  const values: SettingValues = parsed.data;

  const config: StackConfig = {
    stack: stackName,
    region: values["aws:region"],
    availabilityZones: values["parley:availabilityZones"],
    vpcCidr: values["parley:vpcCidr"],
    natGateways: values["parley:natGateways"],
    kubernetesVersion: values["parley:kubernetesVersion"],
    clusterApiAllowedCidrs: values["parley:clusterApiAllowedCidrs"],
    clusterAdminPrincipalArns: values["parley:clusterAdminPrincipalArns"],
    clusterViewerPrincipalArns: values["parley:clusterViewerPrincipalArns"],
    clusterAuditorPrincipalArns: values["parley:clusterAuditorPrincipalArns"],
    pipelineEgressCidrs: values["parley:pipelineEgressCidrs"],
    publicHost: values["parley:publicHost"],
    cloudflareZoneId: values["parley:cloudflareZoneId"],
    cloudflareZonePlan: values["parley:cloudflareZonePlan"],
    cloudflareZoneOwner: values["parley:cloudflareZoneOwner"],
    edgeRateLimits:
      values["parley:edgeRateLimits"] ??
      (values["parley:cloudflareZoneOwner"]
        ? allowedEdgeRateLimits(values["parley:cloudflareZonePlan"])
        : []),
    ecrRepositoryName: values["parley:ecrRepositoryName"],
    ...(values["parley:imageTag"] === undefined ? {} : { imageTag: values["parley:imageTag"] }),
    imageDigest: values["parley:imageDigest"],
    karpenterAmiAlias: values["parley:karpenterAmiAlias"],
    spotServiceLinkedRole: values["parley:spotServiceLinkedRole"],
    databaseName: values["parley:databaseName"],
    dbBackupRetentionDays: values["parley:dbBackupRetentionDays"],
    logRetentionDays: values["parley:logRetentionDays"],
    apiRateLimitPerMinute: values["parley:apiRateLimitPerMinute"],
    loginRateLimitPerMinute: values["parley:loginRateLimitPerMinute"],
    appRateLimits: {
      ipPerMinute: values["parley:appRateLimitIpPerMinute"],
      userPerMinute: values["parley:appRateLimitUserPerMinute"],
      loginPerMinute: values["parley:appRateLimitLoginPerMinute"],
    },
    logLevel: values["parley:logLevel"],
    aiProvider: values["parley:aiProvider"],
    openai: {
      baseUrl: values["parley:openaiBaseUrl"],
      model: values["parley:openaiModel"],
      apiKey: secretValue(values["parley:openaiApiKey"]),
    },
    prometheusRetention: values["parley:prometheusRetention"],
    prometheusStorageGiB: values["parley:prometheusStorageGiB"],
    aiMonthlyBudgetUsd: values["parley:aiMonthlyBudgetUsd"],
  };
  const pagerdutyRoutingKey = secretValue(values["parley:pagerdutyRoutingKey"]);
  const slackTicketsWebhookUrl = secretValue(values["parley:slackTicketsWebhookUrl"]);
  const deadMansSwitchUrl = secretValue(values["parley:deadMansSwitchUrl"]);
  if (pagerdutyRoutingKey && slackTicketsWebhookUrl && deadMansSwitchUrl)
    config.alertReceivers = { pagerdutyRoutingKey, slackTicketsWebhookUrl, deadMansSwitchUrl };
  else if (pagerdutyRoutingKey || slackTicketsWebhookUrl || deadMansSwitchUrl) {
    const missing = alertReceiverKeys.filter((key) => values[key] === undefined);
    throw new StackConfigError([
      `${alertReceiverKeys.join(", ")} go together: set all of them (pages, tickets and the dead man's switch) or none (alerts notify nobody); missing ${missing.join(", ")}`,
    ]);
  }
  const crossIssues = crossChecks(config);
  if (crossIssues.length > 0) throw new StackConfigError(crossIssues);
  return config;
}

/** Days in a retention such as `30d` or `5w`. */
function retentionDays(retention: string): number {
  const count = Number(retention.slice(0, -1));
  return retention.endsWith("w") ? count * 7 : count;
}

/** A secret setting's value as a Pulumi secret (undefined when unset). */
function secretValue(value: string | undefined): pulumi.Output<string> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

/** The running stack's config, read from Pulumi's config and validated. */
export function loadStackConfig(): StackConfig {
  const all = pulumi.runtime.allConfig();
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${configNamespace}:`) || key === "aws:region") raw[key] = value;
  }
  return parseStackConfig(raw, pulumi.getStack());
}
