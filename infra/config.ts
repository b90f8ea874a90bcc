/**
 * The stack config: one typed, validated view of `Pulumi.<stack>.yaml`. `loadStackConfig()` runs
 * before any resource is declared; a bad value stops the program with a message that names the key,
 * the value and what is allowed. Settings live in the `parley` namespace, except the AWS region,
 * which is the AWS provider's own `aws:region` (one place, read by both the provider and this module).
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { durationSeconds, sloWindow } from "../alerts/slo";
import { type AiProviderName, aiProviders, type LogLevel, logLevels } from "../contracts/enums";
import { type StackName, stackNames } from "../contracts/stacks";
import {
  allowedEdgeRateLimits,
  type EdgeRateLimitKind,
  edgeRateLimitKinds,
  type ZonePlan,
  zonePlans,
} from "./components/edge-plan";
import { scalingPolicyFor } from "./scaling/policy";

export const configNamespace = "parley";

export type NatGatewayMode = "perAz" | "single";

/** Secrets of the production Alertmanager receivers (alerts/alertmanager.ts reads them from files). */
export interface AlertReceiverSecrets {
  pagerdutyRoutingKey: pulumi.Output<string>;
  slackTicketsWebhookUrl: pulumi.Output<string>;
  /** Where the always-firing Watchdog is sent; the service behind it pages when it stops arriving. */
  deadMansSwitchUrl: pulumi.Output<string>;
}

/** The receiver secrets' keys: set all of them (alerts notify) or none (alerts notify nobody). */
export const alertReceiverKeys = [
  "parley:pagerdutyRoutingKey",
  "parley:slackTicketsWebhookUrl",
  "parley:deadMansSwitchUrl",
] as const;

export interface StackConfig {
  stack: StackName;
  /** AWS region (`aws:region`). */
  region: string;
  /** How many availability zones the VPC, the node groups and the data stores span. */
  availabilityZones: number;
  vpcCidr: string;
  /** One NAT gateway per AZ (resilient) or a single one (cheap; dev only). */
  natGateways: NatGatewayMode;
  kubernetesVersion: string;
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
  cloudflareZonePlan: ZonePlan;
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
  spotServiceLinkedRole: "create" | "existing";
  /** Karpenter's AMI selector alias for the app's nodes: `al2023@v<YYYYMMDD>` (pinned) or `al2023@latest`. */
  karpenterAmiAlias: string;
  databaseName: string;
  dbBackupRetentionDays: number;
  /** Retention of CloudWatch log groups (VPC flow logs, EKS control plane, container logs). */
  logRetentionDays: number;
  /** Cloudflare rate limits per client IP. */
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
  /** The app's LOG_LEVEL. */
  logLevel: LogLevel;
  /** The app's AI_PROVIDER; `openai` needs `openai.apiKey`. */
  aiProvider: AiProviderName;
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

/** An optional secret setting: a non-empty string. */
function secretSetting(what: string): Setting {
  return {
    schema: z.string().min(1),
    allowed: `${what}, non-empty (set it with --secret)`,
    default: () => undefined,
  };
}

interface Setting {
  schema: z.ZodType;
  /** What is allowed, in words, for the error message. */
  allowed: string;
  /** The value when the key is unset (a function of the stack); no default means the key is required. */
  default?: (stack: StackName) => unknown;
  /** Stacks where the key must be set even though it has a default elsewhere. */
  requiredIn?: readonly StackName[];
}

const settings = {
  "aws:region": {
    schema: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/),
    allowed: "an AWS region name such as eu-west-1",
  },
  "parley:availabilityZones": {
    schema: integer(2, 3),
    allowed:
      "2 or 3 (the subnet plan splits the VPC into quarters: one private subnet per AZ, public and data subnets in the last)",
    default: (stack) => scalingPolicyFor(stack).availabilityZones,
  },
  "parley:vpcCidr": {
    schema: cidr.refine((value) => {
      const prefix = Number(value.split("/")[1]);
      return prefix >= 16 && prefix <= 18;
    }),
    allowed: "an IPv4 CIDR with a /16 to /18 prefix (room for VPC-CNI pod IPs), e.g. 10.40.0.0/16",
  },
  "parley:natGateways": {
    schema: z.enum(["perAz", "single"]),
    allowed: '"perAz" or "single"',
    default: () => "perAz",
  },
  "parley:kubernetesVersion": {
    schema: z.enum(["1.34", "1.35", "1.36"]),
    allowed: "an EKS version in standard support: 1.34, 1.35 or 1.36",
    default: () => "1.35",
  },
  "parley:clusterApiAllowedCidrs": {
    schema: list(cidr),
    allowed: 'a non-empty list of IPv4 CIDRs, e.g. ["203.0.113.0/24"]',
  },
  "parley:clusterAdminPrincipalArns": {
    schema: list(iamPrincipalArn),
    allowed:
      'a non-empty list of IAM role or user ARNs, e.g. ["arn:aws:iam::123456789012:role/platform-admin"]',
  },
  "parley:clusterViewerPrincipalArns": {
    schema: list(iamPrincipalArn),
    allowed:
      'a non-empty list of IAM role or user ARNs (view access without Secrets), e.g. ["arn:aws:iam::123456789012:role/parley-prod-preview"]',
    default: () => [],
  },
  "parley:clusterAuditorPrincipalArns": {
    schema: list(iamPrincipalArn),
    allowed:
      'a non-empty list of IAM role or user ARNs (view access including Secrets), e.g. ["arn:aws:iam::123456789012:role/parley-prod-plan"]',
    default: () => [],
  },
  "parley:pipelineEgressCidrs": {
    schema: list(cidr),
    allowed:
      'a non-empty list of IPv4 CIDRs: the static egress addresses of the runner group the pipeline uses, e.g. ["203.0.113.16/29"]',
    default: () => [],
  },
  "parley:publicHost": {
    schema: z.string().regex(hostname),
    allowed: "a lower-case DNS host name such as chat.example.com",
  },
  "parley:cloudflareZoneId": {
    schema: z.string().regex(/^[0-9a-f]{32}$/),
    allowed: "a Cloudflare zone id (32 lower-case hex characters)",
  },
  // The Cloudflare zone both stacks share: its plan, and which one stack owns its zone-wide singletons.
  "parley:cloudflareZonePlan": {
    schema: z.enum(zonePlans),
    allowed: `the zone's Cloudflare plan: one of ${zonePlans.join(", ")}`,
    default: () => "free",
  },
  "parley:cloudflareZoneOwner": {
    schema: z.preprocess(
      (value) => (value === "true" ? true : value === "false" ? false : value),
      z.boolean(),
    ),
    allowed:
      "true (this stack declares the zone's settings and rulesets; exactly one stack per zone) or false",
    default: () => false,
  },
  "parley:edgeRateLimits": {
    schema: z.preprocess(
      (value) => {
        try {
          return typeof value === "string" ? JSON.parse(value) : value;
        } catch {
          return value;
        }
      },
      z.array(z.enum(edgeRateLimitKinds)),
    ),
    allowed: `a list of edge rate limits from ${JSON.stringify(edgeRateLimitKinds)}, e.g. ["api","login"] or []`,
    default: () => undefined,
  },
  "parley:ecrRepositoryName": {
    schema: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/),
    allowed: "an ECR repository name (lower-case letters, digits, . _ - and /)",
    default: (stack) => `parley-${stack}`,
  },
  "parley:imageTag": {
    schema: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/),
    allowed:
      "a container image tag (letters, digits, _ . -, at most 128 characters); leave it unset until the first image is pushed",
    default: () => undefined,
  },
  "parley:spotServiceLinkedRole": {
    schema: z.enum(["create", "existing"]),
    allowed:
      '"create" (this stack creates AWSServiceRoleForEC2Spot) or "existing" (the account already has it)',
    default: () => "create",
  },
  "parley:karpenterAmiAlias": {
    schema: z.string().regex(/^al2023@(latest|v\d{8})$/),
    allowed:
      'an AL2023 alias: "al2023@v<YYYYMMDD>" (a released EKS AMI version) or "al2023@latest" (not in prod)',
    default: () => "al2023@latest",
    requiredIn: ["prod"],
  },
  "parley:imageDigest": {
    schema: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    allowed: "an image digest: sha256: and 64 lower-case hex characters (the pipeline records it on release)",
    default: () => undefined,
  },
  "parley:databaseName": {
    schema: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
    allowed: "a PostgreSQL database name (lower-case letter first, then letters, digits or _)",
    default: () => "parley",
  },
  "parley:dbBackupRetentionDays": {
    schema: integer(7, 35),
    allowed: "an integer from 7 to 35",
    default: () => 7,
  },
  "parley:logRetentionDays": {
    schema: z.preprocess(
      (value) => (typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value),
      z.number().refine((value) => logRetentionValues.includes(value)),
    ),
    allowed: `one of CloudWatch's retention periods: ${logRetentionValues.join(", ")}`,
    default: () => 30,
  },
  "parley:apiRateLimitPerMinute": {
    schema: integer(10, 100_000),
    allowed: "an integer from 10 to 100000 (requests per minute per client IP)",
    default: () => 600,
  },
  "parley:loginRateLimitPerMinute": {
    schema: integer(1, 1000),
    allowed: "an integer from 1 to 1000 (login attempts per minute per client IP)",
    default: () => 10,
  },
  "parley:logLevel": {
    schema: z.enum(logLevels),
    allowed: `one of ${logLevels.join(", ")}`,
    default: () => "info",
  },
  "parley:aiProvider": {
    schema: z.enum(aiProviders),
    allowed: '"knowledge" (built in, no network) or "openai" (an OpenAI-compatible API)',
    default: () => "knowledge",
  },
  "parley:openaiBaseUrl": {
    schema: z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/),
    allowed: "an https:// URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1",
    default: () => "https://api.openai.com/v1",
  },
  "parley:openaiModel": {
    schema: z.string().min(1),
    allowed: "a model name, e.g. gpt-4o-mini",
    default: () => "gpt-4o-mini",
  },
  // Secrets (`pulumi config set --secret`): only ever emptiness is reported, never the value.
  "parley:openaiApiKey": secretSetting("the OpenAI API key"),
  "parley:pagerdutyRoutingKey": secretSetting("the PagerDuty Events v2 routing key of the paging service"),
  "parley:slackTicketsWebhookUrl": secretSetting("the Slack incoming-webhook URL of the tickets channel"),
  "parley:deadMansSwitchUrl": secretSetting(
    "the URL of the dead man's switch the always-firing Watchdog is sent to (it pages when the heartbeat stops)",
  ),
  "parley:prometheusRetention": {
    // The 30-day SLI and error budget are computed from recorded series: a shorter retention
    // silently turns them into shorter-window figures.
    schema: z
      .string()
      .regex(/^[1-9]\d*[dw]$/)
      .refine((value) => retentionDays(value) >= durationSeconds(sloWindow) / 86_400),
    allowed: `a Prometheus retention in days or weeks covering the ${sloWindow} SLO window, e.g. 30d or 5w`,
    default: () => sloWindow,
  },
  "parley:prometheusStorageGiB": {
    schema: integer(10, 4096),
    allowed: "an integer from 10 to 4096 (GiB of the Prometheus volume)",
    default: (stack) => (stack === "prod" ? 200 : 20),
  },
  "parley:aiMonthlyBudgetUsd": {
    schema: integer(1, 10_000_000),
    allowed: "an integer from 1 to 10000000 (US dollars of AI spend per month, whole service)",
    // prod: the plans' projected AI spend at 10k users ($25k of a $26k bill).
    default: (stack) => (stack === "prod" ? 25_000 : 500),
  },
} satisfies Record<string, Setting>;

type SettingKey = keyof typeof settings;

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
  if (!(stackNames as readonly string[]).includes(stack)) {
    throw new StackConfigError([
      `stack ${describe(stack)} is not supported: expected one of ${stackNames.join(", ")} (Pulumi.<stack>.yaml)`,
    ]);
  }
  const stackName = stack as StackName;
  const issues: string[] = [];
  const known = Object.keys(settings);
  for (const key of Object.keys(raw)) {
    if (key.startsWith(`${configNamespace}:`) && !known.includes(key)) {
      issues.push(`${key} is not a known setting: expected one of ${known.join(", ")}`);
    }
  }

  const values: Partial<Record<SettingKey, unknown>> = {};
  for (const [key, setting] of Object.entries(settings) as Array<[SettingKey, Setting]>) {
    const given = raw[key];
    if (given === undefined) {
      if (setting.default && !setting.requiredIn?.includes(stackName)) {
        values[key] = setting.default(stackName);
      } else {
        issues.push(
          `${key} is required${setting.default ? ` in ${stackName}` : ""}: expected ${setting.allowed}`,
        );
      }
      continue;
    }
    const result = setting.schema.safeParse(given);
    if (result.success) {
      values[key] = result.data;
    } else {
      issues.push(`${key} = ${describe(given)} is not allowed: expected ${setting.allowed}`);
    }
  }
  if (issues.length > 0) throw new StackConfigError(issues);

  const config: StackConfig = {
    stack: stackName,
    region: values["aws:region"] as string,
    availabilityZones: values["parley:availabilityZones"] as number,
    vpcCidr: values["parley:vpcCidr"] as string,
    natGateways: values["parley:natGateways"] as NatGatewayMode,
    kubernetesVersion: values["parley:kubernetesVersion"] as string,
    clusterApiAllowedCidrs: values["parley:clusterApiAllowedCidrs"] as string[],
    clusterAdminPrincipalArns: values["parley:clusterAdminPrincipalArns"] as string[],
    clusterViewerPrincipalArns: values["parley:clusterViewerPrincipalArns"] as string[],
    clusterAuditorPrincipalArns: values["parley:clusterAuditorPrincipalArns"] as string[],
    pipelineEgressCidrs: values["parley:pipelineEgressCidrs"] as string[],
    publicHost: values["parley:publicHost"] as string,
    cloudflareZoneId: values["parley:cloudflareZoneId"] as string,
    cloudflareZonePlan: values["parley:cloudflareZonePlan"] as ZonePlan,
    cloudflareZoneOwner: values["parley:cloudflareZoneOwner"] as boolean,
    edgeRateLimits:
      (values["parley:edgeRateLimits"] as EdgeRateLimitKind[] | undefined) ??
      (values["parley:cloudflareZoneOwner"]
        ? allowedEdgeRateLimits(values["parley:cloudflareZonePlan"] as ZonePlan)
        : []),
    ecrRepositoryName: values["parley:ecrRepositoryName"] as string,
    ...(values["parley:imageTag"] === undefined ? {} : { imageTag: values["parley:imageTag"] as string }),
    imageDigest: values["parley:imageDigest"] as string | undefined,
    karpenterAmiAlias: values["parley:karpenterAmiAlias"] as string,
    spotServiceLinkedRole: values["parley:spotServiceLinkedRole"] as "create" | "existing",
    databaseName: values["parley:databaseName"] as string,
    dbBackupRetentionDays: values["parley:dbBackupRetentionDays"] as number,
    logRetentionDays: values["parley:logRetentionDays"] as number,
    apiRateLimitPerMinute: values["parley:apiRateLimitPerMinute"] as number,
    loginRateLimitPerMinute: values["parley:loginRateLimitPerMinute"] as number,
    logLevel: values["parley:logLevel"] as LogLevel,
    aiProvider: values["parley:aiProvider"] as AiProviderName,
    openai: {
      baseUrl: values["parley:openaiBaseUrl"] as string,
      model: values["parley:openaiModel"] as string,
      apiKey: secretValue(values["parley:openaiApiKey"]),
    },
    prometheusRetention: values["parley:prometheusRetention"] as string,
    prometheusStorageGiB: values["parley:prometheusStorageGiB"] as number,
    aiMonthlyBudgetUsd: values["parley:aiMonthlyBudgetUsd"] as number,
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
function secretValue(value: unknown): pulumi.Output<string> | undefined {
  return typeof value === "string" ? pulumi.secret(value) : undefined;
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
