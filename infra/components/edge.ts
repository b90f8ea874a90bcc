/**
 * The edge: Cloudflare in front of the ingress load balancer. The ACM certificate the load balancer
 * serves (validated through Cloudflare DNS), the load balancer's security group (Cloudflare's
 * published ranges only), and the zone's settings, cache rules, rate limits and managed WAF.
 *
 * The proxied DNS record for the public host is a separate component (PublicDnsRecord) because it
 * points at the load balancer, which exists only once the workload's Ingress does.
 */
import * as aws from "@pulumi/aws";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { cloudflareIpv4Ranges, cloudflareIpv6Ranges } from "../data/cloudflare-ips";
import { naming } from "../naming";
import type { StackName } from "../scaling/policy";

export interface EdgeArgs {
  stack: StackName;
  publicHost: string;
  cloudflareZoneId: string;
  vpcId: pulumi.Input<string>;
  vpcCidr: string;
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
}

export const httpsPort = 443;
const oneYearSeconds = 365 * 24 * 60 * 60;

/** Cloudflare zone settings: TLS to the origin verified, TLS 1.2+, HTTPS only, HTTP/3, Brotli. */
export const zoneSettings: Record<string, string> = {
  ssl: "strict",
  min_tls_version: "1.2",
  always_use_https: "on",
  http3: "on",
  brotli: "on",
};

/** Content-hashed static files live under /assets/: their URL changes with their content. */
export const hashedAssetsExpression = 'starts_with(http.request.uri.path, "/assets/")';
export const apiExpression = 'starts_with(http.request.uri.path, "/api/")';
export const loginExpression = 'http.request.uri.path eq "/api/auth/login" and http.request.method eq "POST"';

/** Cloudflare Managed Ruleset (the managed WAF rules), by its fixed id. */
export const cloudflareManagedRulesetId = "efb7b8c949ac4650a09736fc376e9aee";

export function cacheRules(): cloudflare.types.input.RulesetRule[] {
  return [
    {
      ref: "hashed_assets_one_year",
      description: "Content-hashed static assets: cache a year at the edge and in browsers",
      expression: hashedAssetsExpression,
      action: "set_cache_settings",
      actionParameters: {
        cache: true,
        edgeTtl: { mode: "override_origin", default: oneYearSeconds },
        browserTtl: { mode: "override_origin", default: oneYearSeconds },
      },
    },
    {
      ref: "api_bypass_unless_cacheable",
      description: "API: bypass the cache unless the origin sends Cache-Control that allows caching",
      expression: apiExpression,
      action: "set_cache_settings",
      actionParameters: {
        cache: true,
        edgeTtl: { mode: "bypass_by_default" },
        browserTtl: { mode: "respect_origin" },
      },
    },
  ];
}

export function rateLimitRules(limits: {
  apiRateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
}): cloudflare.types.input.RulesetRule[] {
  // Counted per client IP at each Cloudflare location (cf.colo.id is required by Cloudflare).
  const perClient = ["cf.colo.id", "ip.src"];
  return [
    {
      ref: "login_rate_limit",
      description: "Login attempts per client IP (brute force)",
      expression: loginExpression,
      action: "block",
      ratelimit: {
        characteristics: perClient,
        period: 60,
        requestsPerPeriod: limits.loginRateLimitPerMinute,
        mitigationTimeout: 600,
      },
    },
    {
      ref: "api_rate_limit",
      description: "API requests per client IP",
      expression: apiExpression,
      action: "block",
      ratelimit: {
        characteristics: perClient,
        period: 60,
        requestsPerPeriod: limits.apiRateLimitPerMinute,
        mitigationTimeout: 60,
      },
    },
  ];
}

export class Edge extends pulumi.ComponentResource {
  readonly publicUrl: string;
  /** The validated certificate: an ALB listener can use it as soon as this resolves. */
  readonly certificateArn: pulumi.Output<string>;
  /** Attach to the ingress load balancer: admits HTTPS from Cloudflare only. */
  readonly loadBalancerSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: EdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("parley:infra:Edge", name, {}, opts);
    const n = naming(args.stack, "edge");
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
        description: "Hashed assets cached a year; API bypassed unless the origin allows caching",
        rules: cacheRules(),
      },
      parent,
    );
    new cloudflare.Ruleset(
      n.name("rate-limits"),
      {
        zoneId: args.cloudflareZoneId,
        kind: "zone",
        phase: "http_ratelimit",
        name: "Parley rate limits",
        description: "Per-client limits on the API and, stricter, on login",
        rules: rateLimitRules(args),
      },
      parent,
    );
    new cloudflare.Ruleset(
      n.name("waf"),
      {
        zoneId: args.cloudflareZoneId,
        kind: "zone",
        phase: "http_request_firewall_managed",
        name: "Parley managed WAF",
        description: "Cloudflare Managed Ruleset on every request",
        rules: [
          {
            ref: "cloudflare_managed_ruleset",
            description: "Execute the Cloudflare Managed Ruleset",
            expression: "true",
            action: "execute",
            actionParameters: { id: cloudflareManagedRulesetId },
          },
        ],
      },
      parent,
    );

    this.registerOutputs({
      publicUrl: this.publicUrl,
      certificateArn: this.certificateArn,
      loadBalancerSecurityGroupId: this.loadBalancerSecurityGroupId,
    });
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
    super("parley:infra:PublicDnsRecord", name, {}, opts);
    const n = naming(args.stack, "edge");
    new cloudflare.DnsRecord(
      n.name("public-host"),
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
      { parent: this },
    );
    this.hostname = args.publicHost;
    this.registerOutputs({ hostname: this.hostname });
  }
}
