/**
 * The edge: Cloudflare in front of the ingress load balancer.
 *
 * Every stack declares what belongs to its own host: the ACM certificate the load balancer serves
 * (validated through Cloudflare DNS), the load balancer's security group (Cloudflare's published
 * ranges only), and authenticated origin pulls: Cloudflare presents a client certificate issued for
 * this host by this stack's own CA, and the load balancer's mTLS trust store holds only that CA.
 *
 * Exactly one stack per zone (`parley:cloudflareZoneOwner`) declares the zone-wide singletons: the
 * zone settings and the entry-point rulesets (Cloudflare allows one entry-point ruleset per phase per
 * zone: developers.cloudflare.com/ruleset-engine/about/rulesets/#entry-point-ruleset). Every rule
 * in them names the owner's host, and only what the zone's plan allows is declared
 * (./edge-plan.ts). `npm run check:stacks` rejects two stacks owning the same zone.
 *
 * The proxied DNS record for the public host is a separate component (PublicDnsRecord) because it
 * points at the load balancer, which exists only once the workload's Ingress does.
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { StackName } from "../../contracts/stacks";
import {
  cloudflareIpRangesRecordedOn,
  cloudflareIpv4Ranges,
  cloudflareIpv6Ranges,
} from "../data/cloudflare-ips";
import { componentNaming, componentType, type Naming, resourceName } from "../naming";
import {
  type EdgeRateLimitKind,
  planCapabilities,
  rateLimitPlanViolations,
  type ZonePlan,
} from "./edge-plan";

export interface EdgeArgs {
  stack: StackName;
  publicHost: string;
  cloudflareZoneId: string;
  zonePlan: ZonePlan;
  /** Declare the zone-wide settings and entry-point rulesets (one stack per zone). */
  zoneOwner: boolean;
  /** Edge rate limits to declare (owner only; the config has checked them against the plan). */
  edgeRateLimits: EdgeRateLimitKind[];
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
}

export const httpsPort = 443;

/** Cloudflare zone settings: TLS to the origin verified, TLS 1.2+, HTTPS only, HTTP/3, Brotli. */
export const zoneSettings: Record<string, string> = {
  ssl: "strict",
  min_tls_version: "1.2",
  always_use_https: "on",
  http3: "on",
  brotli: "on",
};

/** Content-hashed static files live under /assets/: their URL changes with their content. */
export const hashedAssetsPrefix = "/assets/";
export const apiPrefix = "/api/";
export const loginPath = "/api/auth/login";

const onHost = (host: string) => `http.host eq "${host}"`;
const underPath = (prefix: string) => `starts_with(http.request.uri.path, "${prefix}")`;

/**
 * Cache rules for the host. The edge caches exactly what the app marks cacheable: hashed assets are
 * eligible and keep the app's own Cache-Control (`public, max-age=31536000, immutable`), so a 404
 * under /assets/ is never pinned for a year; the API is never cached, whatever a response says, so
 * no response to a request carrying a token is ever stored. Everything else keeps Cloudflare's
 * default (HTML is not cached by default, and the app sends it `no-cache`).
 */
export function cacheRules(host: string): cloudflare.types.input.RulesetRule[] {
  return [
    {
      ref: "hashed_assets_as_the_origin_says",
      description: "Content-hashed assets: cacheable, for as long as the app's Cache-Control says",
      expression: `${onHost(host)} and ${underPath(hashedAssetsPrefix)}`,
      action: "set_cache_settings",
      actionParameters: {
        cache: true,
        edgeTtl: { mode: "respect_origin" },
        browserTtl: { mode: "respect_origin" },
      },
    },
    {
      ref: "api_never_cached",
      description: "API: never cached at the edge, whatever the response says",
      expression: `${onHost(host)} and ${underPath(apiPrefix)}`,
      action: "set_cache_settings",
      actionParameters: { cache: false },
    },
  ];
}

/**
 * Host-scoped rate limits (per client IP at each Cloudflare location; cf.colo.id is mandatory). On
 * Pro the login rule matches the path only: `http.request.method` needs Business (the login route
 * answers only POST, so counting other methods there costs nothing).
 */
export function rateLimitRules(args: {
  publicHost: string;
  zonePlan: ZonePlan;
  edgeRateLimits: EdgeRateLimitKind[];
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
}): cloudflare.types.input.RulesetRule[] {
  const perClient = ["cf.colo.id", "ip.src"];
  const fields = planCapabilities[args.zonePlan].rateLimitFields;
  const methodAvailable = fields === undefined || fields.includes("http.request.method");
  const host = onHost(args.publicHost);
  const rules: Record<EdgeRateLimitKind, cloudflare.types.input.RulesetRule> = {
    login: {
      ref: "login_rate_limit",
      description: "Login attempts per client IP (brute force)",
      expression: `${host} and http.request.uri.path eq "${loginPath}"${methodAvailable ? ' and http.request.method eq "POST"' : ""}`,
      action: "block",
      ratelimit: {
        characteristics: perClient,
        period: 60,
        requestsPerPeriod: args.loginRateLimitPerMinute,
        mitigationTimeout: 600,
      },
    },
    api: {
      ref: "api_rate_limit",
      description: "API requests per client IP",
      expression: `${host} and ${underPath(apiPrefix)}`,
      action: "block",
      ratelimit: {
        characteristics: perClient,
        period: 60,
        requestsPerPeriod: args.apiRateLimitPerMinute,
        mitigationTimeout: 60,
      },
    },
  };
  const declared = (["login", "api"] as const).filter((kind) => args.edgeRateLimits.includes(kind));
  const selected = declared.map((kind) => rules[kind]);
  const problems = rateLimitPlanViolations(
    args.zonePlan,
    selected as Array<{
      ref: string;
      expression: string;
      ratelimit: { period: number; mitigationTimeout: number };
    }>,
  );
  if (problems.length > 0) {
    throw new Error(`Edge rate limits do not fit the ${args.zonePlan} plan: ${problems.join("; ")}`);
  }
  return selected;
}

/** The managed WAF the plan allows (Free Managed Ruleset on Free), on this host only. */
export function managedWafRules(host: string, zonePlan: ZonePlan): cloudflare.types.input.RulesetRule[] {
  return [
    {
      ref: "managed_waf",
      description: "Execute the plan's Cloudflare managed WAF ruleset",
      expression: onHost(host),
      action: "execute",
      actionParameters: { id: planCapabilities[zonePlan].managedRulesetId },
    },
  ];
}

/**
 * Differences between the vendored Cloudflare ranges and the live list (the provider's getIpRanges,
 * GET /client/v4/ips), one line each; empty when they agree.
 */
export function ipRangeDrift(live: { ipv4Cidrs: string[]; ipv6Cidrs: string[] }): string[] {
  const drift: string[] = [];
  const compare = (family: string, vendored: readonly string[], current: string[]) => {
    const missing = current.filter((cidr) => !vendored.includes(cidr));
    const stale = vendored.filter((cidr) => !current.includes(cidr));
    if (missing.length > 0) drift.push(`${family} published but not vendored: ${missing.join(", ")}`);
    if (stale.length > 0) drift.push(`${family} vendored but no longer published: ${stale.join(", ")}`);
  };
  compare("IPv4", cloudflareIpv4Ranges, live.ipv4Cidrs);
  compare("IPv6", cloudflareIpv6Ranges, live.ipv6Cidrs);
  return drift;
}

/**
 * Fails unless the vendored list is the one Cloudflare publishes now (the provider's getIpRanges, as a
 * real preview or update fetches it): the program awaits this before declaring anything, so a stale
 * list stops `pulumi preview` with the ranges to add and remove.
 */
export async function verifyCloudflareIpRanges(): Promise<void> {
  const drift = ipRangeDrift(await cloudflare.getIpRanges({}));
  if (drift.length > 0) {
    throw new pulumi.RunError(
      `infra/data/cloudflare-ips.ts (recorded ${cloudflareIpRangesRecordedOn}) is stale: ${drift.join("; ")}. Update the ranges and the date together (see the file's header).`,
    );
  }
}

/** Authenticated origin pulls: the CA lives ten years; the client certificate is renewed by `pulumi up`. */
const caValidityHours = 10 * 365 * 24;
const clientValidityHours = 365 * 24;
const clientEarlyRenewalHours = 60 * 24;

export class Edge extends pulumi.ComponentResource {
  readonly publicUrl: string;
  /** The validated certificate: an ALB listener can use it as soon as this resolves. */
  readonly certificateArn: pulumi.Output<string>;
  /** Attach to the ingress load balancer: admits HTTPS from Cloudflare only. */
  readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
  /** The ALB listener's mTLS trust store: admits only the client certificate Cloudflare presents for this host. */
  readonly originTrustStoreArn: pulumi.Output<string>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("Edge"), name, {}, opts);
    const n = componentNaming(name, args.stack, "edge");
    const parent = { parent: this };
    this.publicUrl = `https://${args.publicHost}`;

    const certificate = new aws.acm.Certificate(
      n.name("certificate"),
      {
        domainName: args.publicHost,
        validationMethod: "DNS",
        keyAlgorithm: "EC_prime256v1",
        tags: n.tags(),
      },
      { parent: this },
    );
    const validationRecord = certificate.domainValidationOptions.apply((options) => {
      const option = options.find((candidate) => candidate.domainName === args.publicHost);
      if (!option) throw new Error(`ACM returned no DNS validation record for ${args.publicHost}`);
      return option;
    });
    // DNS-only (not proxied): ACM must see the CNAME itself.
    const validation = new cloudflare.DnsRecord(
      n.name("certificate-validation"),
      {
        zoneId: args.cloudflareZoneId,
        name: validationRecord.apply((record) => record.resourceRecordName.replace(/\.$/, "")),
        type: validationRecord.apply((record) => record.resourceRecordType),
        content: validationRecord.apply((record) => record.resourceRecordValue.replace(/\.$/, "")),
        proxied: false,
        ttl: 60,
        comment: "ACM validation of the ingress load balancer's certificate (managed by Pulumi)",
      },
      parent,
    );
    const validated = new aws.acm.CertificateValidation(
      n.name("certificate-validated"),
      {
        certificateArn: certificate.arn,
        validationRecordFqdns: [validation.name],
      },
      parent,
    );
    this.certificateArn = validated.certificateArn;

    const loadBalancerSg = new aws.ec2.SecurityGroup(
      n.name("lb-sg"),
      {
        vpcId: args.vpcId,
        description: "Ingress load balancer: HTTPS from the published Cloudflare ranges only",
        tags: n.tags({ Name: n.name("lb-sg") }),
      },
      parent,
    );
    const ingress = (family: "v4" | "v6", cidr: string, index: number) =>
      new aws.vpc.SecurityGroupIngressRule(
        n.name("lb-from-cloudflare", family, String(index)),
        {
          securityGroupId: loadBalancerSg.id,
          ipProtocol: "tcp",
          fromPort: httpsPort,
          toPort: httpsPort,
          ...(family === "v4" ? { cidrIpv4: cidr } : { cidrIpv6: cidr }),
          description: "HTTPS from Cloudflare",
          tags: n.tags(),
        },
        parent,
      );
    cloudflareIpv4Ranges.forEach((cidr, index) => {
      ingress("v4", cidr, index);
    });
    cloudflareIpv6Ranges.forEach((cidr, index) => {
      ingress("v6", cidr, index);
    });
    new aws.vpc.SecurityGroupEgressRule(
      n.name("lb-to-vpc"),
      {
        securityGroupId: loadBalancerSg.id,
        ipProtocol: "tcp",
        fromPort: 0,
        toPort: 65535,
        cidrIpv4: args.vpcCidr,
        description: "To the app pods inside the VPC",
        tags: n.tags(),
      },
      parent,
    );
    this.loadBalancerSecurityGroupId = loadBalancerSg.id;

    this.originTrustStoreArn = this.authenticatedOriginPulls(args, n);

    if (args.zoneOwner) this.zoneSingletons(args, n);

    this.registerOutputs({
      publicUrl: this.publicUrl,
      certificateArn: this.certificateArn,
      loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
      originTrustStoreArn: this.originTrustStoreArn,
    });
  }

  /**
   * Per-hostname authenticated origin pulls with this stack's own CA. Cloudflare's shared origin-pull
   * certificate (global AOP) is presented for every Cloudflare account, so trusting it would admit
   * any Cloudflare customer's zone or Worker; a per-hostname certificate is presented only for this
   * zone's proxied traffic to this host (developers.cloudflare.com/ssl/origin-configuration/
   * authenticated-origin-pull/). Per-hostname associations are not zone-wide, so each stack owns its own.
   */
  private authenticatedOriginPulls(args: EdgeArgs, n: Naming): pulumi.Output<string> {
    const parent = { parent: this };
    const subject = (commonName: string) => ({ commonName, organization: "Parley" });

    const caKey = new tls.PrivateKey(
      n.name("origin-pull-ca-key"),
      { algorithm: "RSA", rsaBits: 2048 },
      parent,
    );
    const ca = new tls.SelfSignedCert(
      n.name("origin-pull-ca"),
      {
        privateKeyPem: caKey.privateKeyPem,
        subject: subject(`Parley ${args.stack} origin-pull CA`),
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: caValidityHours,
      },
      parent,
    );
    const clientKey = new tls.PrivateKey(
      n.name("origin-pull-client-key"),
      { algorithm: "RSA", rsaBits: 2048 },
      parent,
    );
    const request = new tls.CertRequest(
      n.name("origin-pull-client-request"),
      { privateKeyPem: clientKey.privateKeyPem, subject: subject(args.publicHost) },
      parent,
    );
    const client = new tls.LocallySignedCert(
      n.name("origin-pull-client"),
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
        validityPeriodHours: clientValidityHours,
        earlyRenewalHours: clientEarlyRenewalHours,
      },
      parent,
    );
    const uploaded = new cloudflare.AuthenticatedOriginPullsHostnameCertificate(
      n.name("origin-pull-certificate"),
      { zoneId: args.cloudflareZoneId, certificate: client.certPem, privateKey: clientKey.privateKeyPem },
      parent,
    );
    // One hostname association per resource (the provider rejects more than one config entry).
    new cloudflare.AuthenticatedOriginPulls(
      n.name("origin-pulls"),
      {
        zoneId: args.cloudflareZoneId,
        configs: [{ hostname: args.publicHost, certId: uploaded.id, enabled: true }],
      },
      parent,
    );

    // ALB trust stores read their CA bundle from S3.
    const bucket = new aws.s3.Bucket(
      n.name("origin-pull-ca-bundle"),
      { forceDestroy: true, tags: n.tags() },
      parent,
    );
    new aws.s3.BucketPublicAccessBlock(
      n.name("origin-pull-ca-bundle"),
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    const bundle = new aws.s3.BucketObjectv2(
      n.name("origin-pull-ca-pem"),
      {
        bucket: bucket.id,
        key: "origin-pull-ca.pem",
        content: ca.certPem,
        contentType: "application/x-pem-file",
        tags: n.tags(),
      },
      parent,
    );
    const trustStore = new aws.lb.TrustStore(
      n.name("origin-pull"),
      {
        name: n.name("origin-pull"),
        caCertificatesBundleS3Bucket: bundle.bucket,
        caCertificatesBundleS3Key: bundle.key,
        tags: n.tags(),
      },
      parent,
    );
    return trustStore.arn;
  }

  /** The zone-wide singletons: declared by the one stack that owns the zone. */
  private zoneSingletons(args: EdgeArgs, n: Naming): void {
    const parent = { parent: this };
    for (const [settingId, value] of Object.entries(zoneSettings)) {
      new cloudflare.ZoneSetting(
        n.name("zone", settingId.replace(/_/g, "-")),
        { zoneId: args.cloudflareZoneId, settingId, value },
        parent,
      );
    }

    new cloudflare.Ruleset(
      n.name("cache-rules"),
      {
        zoneId: args.cloudflareZoneId,
        kind: "zone",
        phase: "http_request_cache_settings",
        name: "Parley cache rules",
        description: `${args.publicHost}: hashed assets cached as the app says; the API never cached`,
        rules: cacheRules(args.publicHost),
      },
      parent,
    );
    const rateLimits = rateLimitRules(args);
    if (rateLimits.length > 0) {
      new cloudflare.Ruleset(
        n.name("rate-limits"),
        {
          zoneId: args.cloudflareZoneId,
          kind: "zone",
          phase: "http_ratelimit",
          name: "Parley rate limits",
          description: `${args.publicHost}: per-client limits on the API and, stricter, on login`,
          rules: rateLimits,
        },
        parent,
      );
    } else {
      pulumi.log.info(
        `No edge rate limits on the ${args.zonePlan} plan: the app's own per-client limits apply (docs/deploying.md)`,
        this,
      );
    }
    new cloudflare.Ruleset(
      n.name("waf"),
      {
        zoneId: args.cloudflareZoneId,
        kind: "zone",
        phase: "http_request_firewall_managed",
        name: "Parley managed WAF",
        description: `${args.publicHost}: the plan's Cloudflare managed ruleset`,
        rules: managedWafRules(args.publicHost, args.zonePlan),
      },
      parent,
    );
  }
}

export interface PublicDnsRecordArgs {
  stack: StackName;
  publicHost: string;
  cloudflareZoneId: string;
  /** The ingress load balancer's DNS name. */
  originHostname: pulumi.Input<string>;
}

/** The public host, proxied through Cloudflare to the ingress load balancer. */
export class PublicDnsRecord extends pulumi.ComponentResource {
  readonly hostname: string;

  constructor(name: string, args: PublicDnsRecordArgs, opts?: pulumi.ComponentResourceOptions) {
    super(componentType("PublicDnsRecord"), name, {}, opts);
    const n = componentNaming(name, args.stack, "edge");
    new cloudflare.DnsRecord(
      n.name("record"),
      {
        zoneId: args.cloudflareZoneId,
        name: args.publicHost,
        type: "CNAME",
        content: args.originHostname,
        proxied: true,
        // 1 = automatic; required for proxied records.
        ttl: 1,
        comment: "Parley public host via Cloudflare to the ingress load balancer (managed by Pulumi)",
      },
      // Its name was the edge's `parley-<stack>-edge-public-host`: the alias keeps the deployed record.
      { parent: this, aliases: [{ name: resourceName(args.stack, "edge", "public-host") }] },
    );
    this.hostname = args.publicHost;
    this.registerOutputs({ hostname: this.hostname });
  }
}
