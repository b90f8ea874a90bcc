import { beforeAll, describe, expect, it } from "vitest";
import { runComponents } from "../../tests/support/infra/component-harness";
import { resourceNamed, resourcesOfType, reveal } from "../../tests/support/infra/resources";
import {
  cloudflareIpRangesRecordedOn,
  cloudflareIpv4Ranges,
  cloudflareIpv6Ranges,
} from "../data/cloudflare-ips";
import { type ProgramRun, type RegisteredResource, runProgram } from "../offline-runner/runner";
import { cacheRules, ipRangeDrift, managedWafRules, PublicDnsRecord, rateLimitRules } from "./edge";
import {
  cloudflareManagedRulesetId,
  freeManagedRulesetId,
  rateLimitPlanViolations,
  zonePlans,
} from "./edge-plan";

const prodHost = "chat.parley.example.com";
const devHost = "chat-dev.parley.example.com";
const zoneId = "0123456789abcdef0123456789abcdef";
const types = {
  ruleset: "cloudflare:index/ruleset:Ruleset",
  zoneSetting: "cloudflare:index/zoneSetting:ZoneSetting",
  aopCertificate:
    "cloudflare:index/authenticatedOriginPullsHostnameCertificate:AuthenticatedOriginPullsHostnameCertificate",
  aop: "cloudflare:index/authenticatedOriginPulls:AuthenticatedOriginPulls",
  trustStore: "aws:lb/trustStore:TrustStore",
};

let prod: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
  dev = await runProgram({ stack: "dev" });
});

type Rule = {
  ref: string;
  expression: string;
  action: string;
  actionParameters?: Record<string, unknown>;
  ratelimit?: {
    requestsPerPeriod: number;
    period: number;
    mitigationTimeout: number;
    characteristics: string[];
  };
};

const rulesets = (run: ProgramRun, phase: string) =>
  resourcesOfType(run, types.ruleset).filter((r) => r.inputs.phase === phase);
const ruleset = (run: ProgramRun, phase: string) => {
  const found = rulesets(run, phase);
  expect(found).toHaveLength(1);
  return found[0].inputs as { kind: string; zoneId: string; rules: Rule[] };
};

describe("Edge", () => {
  it("issues an ACM certificate for the public host, validated through a DNS-only Cloudflare record", () => {
    const certificate = resourceNamed(prod, "aws:acm/certificate:Certificate", "edge-certificate");
    expect(certificate.inputs).toMatchObject({ domainName: prodHost, validationMethod: "DNS" });
    const record = resourceNamed(prod, "cloudflare:index/dnsRecord:DnsRecord", "edge-certificate-validation");
    const option = (certificate.outputs.domainValidationOptions as Array<Record<string, string>>)[0];
    expect(record.inputs).toMatchObject({
      zoneId,
      type: "CNAME",
      name: option.resourceRecordName.replace(/\.$/, ""),
      content: option.resourceRecordValue.replace(/\.$/, ""),
      proxied: false,
    });
    const validation = resourceNamed(
      prod,
      "aws:acm/certificateValidation:CertificateValidation",
      "edge-certificate-validated",
    );
    expect(validation.inputs.certificateArn).toBe(certificate.outputs.arn);
  });

  it("lets only Cloudflare's published ranges reach the load balancer, on HTTPS", () => {
    const sg = resourceNamed(prod, "aws:ec2/securityGroup:SecurityGroup", "edge-lb-sg");
    const rules = resourcesOfType(prod, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter(
      (rule) => rule.inputs.securityGroupId === sg.outputs.id,
    );
    expect(rules.map((rule) => rule.inputs.cidrIpv4 ?? rule.inputs.cidrIpv6).sort()).toEqual(
      [...cloudflareIpv4Ranges, ...cloudflareIpv6Ranges].sort(),
    );
    for (const rule of rules)
      expect(rule.inputs).toMatchObject({ fromPort: 443, toPort: 443, ipProtocol: "tcp" });
    expect(cloudflareIpv4Ranges).not.toContain("0.0.0.0/0");
    expect(cloudflareIpRangesRecordedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("proxies the public host through Cloudflare to the workload's ingress load balancer", () => {
    const [ingress] = resourcesOfType(prod, "kubernetes:networking.k8s.io/v1:Ingress");
    const hostname = (ingress.outputs.status as { loadBalancer: { ingress: Array<{ hostname: string }> } })
      .loadBalancer.ingress[0].hostname;
    expect(
      resourceNamed(prod, "cloudflare:index/dnsRecord:DnsRecord", "public-dns-record").inputs,
    ).toMatchObject({ zoneId, name: prodHost, type: "CNAME", content: hostname, proxied: true });
  });

  it("exports the public URL", () => {
    expect(prod.stackOutputs.publicUrl).toBe(`https://${prodHost}`);
  });
});

describe("Edge: one owner of the zone's singletons (one entry-point ruleset per phase per zone)", () => {
  it("the owning stack (prod) sets the zone to strict TLS, TLS 1.2+, always HTTPS, HTTP/3 and Brotli", () => {
    const settings = Object.fromEntries(
      resourcesOfType(prod, types.zoneSetting).map((s) => [s.inputs.settingId, s.inputs.value]),
    );
    expect(settings).toEqual({
      ssl: "strict",
      min_tls_version: "1.2",
      always_use_https: "on",
      http3: "on",
      brotli: "on",
    });
  });

  it("the other stack (dev) declares no zone setting and no entry-point ruleset, so destroying it leaves prod's WAF", () => {
    expect(resourcesOfType(dev, types.zoneSetting)).toEqual([]);
    expect(resourcesOfType(dev, types.ruleset)).toEqual([]);
    // What belongs to its own host it still declares.
    expect(resourceNamed(dev, "cloudflare:index/dnsRecord:DnsRecord", "public-dns-record").inputs.name).toBe(
      devHost,
    );
    expect(resourcesOfType(dev, types.aop)).toHaveLength(1);
  });

  it("every rule the owner declares is scoped to its own host", () => {
    const rules = resourcesOfType(prod, types.ruleset).flatMap((r) => (r.inputs as { rules: Rule[] }).rules);
    expect(rules.length).toBeGreaterThanOrEqual(4);
    for (const rule of rules)
      expect(rule.expression).toMatch(
        new RegExp(`^http\\.host eq "${prodHost}" and |^http\\.host eq "${prodHost}"$`),
      );
  });
});

describe("Edge: only what the zone's plan allows (developers.cloudflare.com/waf/rate-limiting-rules/ availability)", () => {
  it("on Pro (prod): two host-scoped rate limits, 60 s periods, login blocked 600 s, matched on the path (method needs Business)", () => {
    const [login, api] = ruleset(prod, "http_ratelimit").rules;
    expect(login.expression).toBe(
      `http.host eq "${prodHost}" and http.request.uri.path eq "/api/auth/login"`,
    );
    expect(api.expression).toBe(`http.host eq "${prodHost}" and starts_with(http.request.uri.path, "/api/")`);
    expect(login.ratelimit).toMatchObject({ requestsPerPeriod: 10, period: 60, mitigationTimeout: 600 });
    expect(api.ratelimit).toMatchObject({ requestsPerPeriod: 600, period: 60, mitigationTimeout: 60 });
    for (const rule of [login, api]) {
      expect(rule.action).toBe("block");
      expect(rule.ratelimit?.characteristics).toEqual(["cf.colo.id", "ip.src"]);
    }
    expect(rateLimitPlanViolations("pro", [login, api] as never)).toEqual([]);
  });

  it("on Pro the Cloudflare Managed Ruleset runs on the host", () => {
    expect(ruleset(prod, "http_request_firewall_managed").rules).toEqual([
      expect.objectContaining({
        expression: `http.host eq "${prodHost}"`,
        action: "execute",
        actionParameters: { id: cloudflareManagedRulesetId },
      }),
    ]);
  });

  it("on Business and Enterprise the login rule also matches the method", () => {
    for (const zonePlan of ["business", "enterprise"] as const) {
      const rules = rateLimitRules({
        publicHost: prodHost,
        zonePlan,
        edgeRateLimits: ["api", "login"],
        apiRateLimitPerMinute: 600,
        loginRateLimitPerMinute: 10,
      });
      expect(rules[0].expression).toContain('http.request.method eq "POST"');
      expect(rateLimitPlanViolations(zonePlan, rules as never)).toEqual([]);
    }
  });

  it("the checker rejects what a plan lacks: method on Pro, 60 s periods and two rules on Free", () => {
    const methodOnPro = {
      ref: "login",
      expression: 'http.request.uri.path eq "/api/auth/login" and http.request.method eq "POST"',
      ratelimit: { period: 60, mitigationTimeout: 600 },
    };
    expect(rateLimitPlanViolations("pro", [methodOnPro])).toEqual([
      "rule login matches on http.request.method, not available on the pro plan",
    ]);
    expect(rateLimitPlanViolations("free", [methodOnPro, { ...methodOnPro, ref: "api" }])).toEqual(
      expect.arrayContaining([
        "2 rate-limiting rules exceed the free plan's 1",
        "rule login counts over 60 s; the free plan allows up to 10 s",
        "rule login blocks for 600 s; the free plan allows up to 10 s",
      ]),
    );
    expect(() =>
      rateLimitRules({
        publicHost: prodHost,
        zonePlan: "free",
        edgeRateLimits: ["login"],
        apiRateLimitPerMinute: 600,
        loginRateLimitPerMinute: 10,
      }),
    ).toThrow(/do not fit the free plan: rule login_rate_limit matches on http.host/);
  });

  it("on Free (the default plan): no edge rate limits, the Free Managed Ruleset, host-scoped cache rules", async () => {
    const free = await runProgram({ stack: "prod", config: { "parley:cloudflareZonePlan": "free" } });
    expect(rulesets(free, "http_ratelimit")).toEqual([]);
    expect(ruleset(free, "http_request_firewall_managed").rules[0].actionParameters).toEqual({
      id: freeManagedRulesetId,
    });
    expect(ruleset(free, "http_request_cache_settings").rules).toEqual(cacheRules(prodHost));
  });

  it("every plan's WAF rule executes a ruleset that plan has", () => {
    for (const plan of zonePlans) {
      const [rule] = managedWafRules(prodHost, plan);
      expect(rule.actionParameters).toEqual({
        id: plan === "free" ? freeManagedRulesetId : cloudflareManagedRulesetId,
      });
    }
  });
});

describe("Edge: cache rules", () => {
  it("hashed assets are cacheable for as long as the app says; the API is never cached", () => {
    const [assets, api] = ruleset(prod, "http_request_cache_settings").rules;
    expect(assets).toMatchObject({
      expression: `http.host eq "${prodHost}" and starts_with(http.request.uri.path, "/assets/")`,
      action: "set_cache_settings",
      actionParameters: {
        cache: true,
        edgeTtl: { mode: "respect_origin" },
        browserTtl: { mode: "respect_origin" },
      },
    });
    expect(api).toMatchObject({
      expression: `http.host eq "${prodHost}" and starts_with(http.request.uri.path, "/api/")`,
      action: "set_cache_settings",
      actionParameters: { cache: false },
    });
  });
});

describe("Edge: only this zone's proxied traffic reaches the origin (per-hostname authenticated origin pulls)", () => {
  const byUrn = (run: ProgramRun, urn: unknown) => run.resources.find((r) => r.urn === urn);
  const ofName = (run: ProgramRun, type: string, part: string): RegisteredResource =>
    resourceNamed(run, type, "edge", part);

  it.each([
    ["prod", prodHost],
    ["dev", devHost],
  ] as const)(
    "%s: Cloudflare presents a client certificate for its host, signed by the stack's own CA",
    (stack, host) => {
      const run = stack === "prod" ? prod : dev;
      const ca = ofName(run, "tls:index/selfSignedCert:SelfSignedCert", "origin-pull-ca");
      expect(ca.inputs).toMatchObject({
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
      });
      const client = ofName(run, "tls:index/locallySignedCert:LocallySignedCert", "origin-pull-client");
      expect(client.inputs.caCertPem).toBe(ca.outputs.certPem);
      expect(client.inputs.allowedUses).toContain("client_auth");
      expect(client.inputs.earlyRenewalHours).toBeGreaterThan(0);

      const uploaded = ofName(run, types.aopCertificate, "origin-pull-certificate");
      expect(uploaded.inputs.zoneId).toBe(zoneId);
      expect(uploaded.inputs.certificate).toBe(client.outputs.certPem);
      const clientKey = ofName(run, "tls:index/privateKey:PrivateKey", "origin-pull-client-key");
      expect(reveal(uploaded.inputs.privateKey)).toBe(reveal(clientKey.outputs.privateKeyPem));

      expect(ofName(run, types.aop, "origin-pulls").inputs).toEqual({
        zoneId,
        configs: [{ hostname: host, certId: uploaded.outputs.id, enabled: true }],
      });
      // Not the zone-level or global (shared by every Cloudflare account) variants.
      const others = run.resources.filter(
        (r) =>
          r.type.startsWith("cloudflare:index/authenticatedOriginPulls") &&
          ![types.aop, types.aopCertificate].includes(r.type),
      );
      expect(others).toEqual([]);
    },
  );

  it.each(["prod", "dev"] as const)(
    "%s: the ALB's trust store holds only that CA, and the HTTPS listener verifies client certificates with it",
    (stack) => {
      const run = stack === "prod" ? prod : dev;
      const ca = ofName(run, "tls:index/selfSignedCert:SelfSignedCert", "origin-pull-ca");
      const trustStore = ofName(run, types.trustStore, "origin-pull");
      const bundle = run.resources.find(
        (r) =>
          r.type === "aws:s3/bucketObjectv2:BucketObjectv2" &&
          r.outputs.key === trustStore.inputs.caCertificatesBundleS3Key &&
          r.outputs.bucket === trustStore.inputs.caCertificatesBundleS3Bucket,
      );
      expect(bundle?.inputs.content).toBe(ca.outputs.certPem);
      const block = resourcesOfType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find(
        (r) => r.inputs.bucket === bundle?.inputs.bucket,
      );
      expect(block?.inputs).toMatchObject({ blockPublicAcls: true, restrictPublicBuckets: true });

      const [ingress] = resourcesOfType(run, "kubernetes:networking.k8s.io/v1:Ingress");
      const annotations = ingress.inputs.metadata as { annotations: Record<string, string> };
      expect(JSON.parse(annotations.annotations["alb.ingress.kubernetes.io/mutual-authentication"])).toEqual([
        {
          port: 443,
          mode: "verify",
          trustStore: trustStore.outputs.arn,
          ignoreClientCertificateExpiry: false,
        },
      ]);
      expect(byUrn(run, trustStore.parent)?.type).toBe("parley:infra:Edge");
    },
  );
});

describe("Edge: the vendored Cloudflare IP list is checked against getIpRanges", () => {
  it("agrees with the list the provider's getIpRanges returns", () => {
    expect(
      ipRangeDrift({ ipv4Cidrs: [...cloudflareIpv4Ranges], ipv6Cidrs: [...cloudflareIpv6Ranges] }),
    ).toEqual([]);
  });

  it("a stale list fails the program loudly, naming the ranges that changed", async () => {
    const live = {
      ipv4Cidrs: [...cloudflareIpv4Ranges.filter((cidr) => cidr !== "131.0.72.0/22"), "198.18.0.0/15"],
      ipv6Cidrs: [...cloudflareIpv6Ranges],
      etag: "changed",
      jdcloudCidrs: [],
    };
    await expect(
      runProgram({ stack: "dev", calls: { "cloudflare:index/getIpRanges:getIpRanges": live } }),
    ).rejects.toThrow(
      /cloudflare-ips\.ts \(recorded \d{4}-\d{2}-\d{2}\) is stale: IPv4 published but not vendored: 198\.18\.0\.0\/15; IPv4 vendored but no longer published: 131\.0\.72\.0\/22/,
    );
  });
});

describe("PublicDnsRecord", () => {
  it("proxies the public host through Cloudflare to the load balancer", async () => {
    const registrations = await runComponents(() => {
      new PublicDnsRecord("public", {
        stack: "prod",
        publicHost: prodHost,
        cloudflareZoneId: zoneId,
        originHostname: "k8s-parley-123.us-east-1.elb.amazonaws.com",
      });
    });
    const record = registrations.find((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
    expect(record?.inputs).toMatchObject({
      name: prodHost,
      type: "CNAME",
      content: "k8s-parley-123.us-east-1.elb.amazonaws.com",
      proxied: true,
      ttl: 1,
    });
  });
});
