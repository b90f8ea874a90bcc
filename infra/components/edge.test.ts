import { beforeAll, describe, expect, it } from "vitest";
import {
  cloudflareIpRangesRecordedOn,
  cloudflareIpv4Ranges,
  cloudflareIpv6Ranges,
} from "../data/cloudflare-ips";
import { runComponents } from "../testing/component-harness";
import { type ProgramRun, resourceNamed, resourcesOfType, runProgram } from "../testing/harness";
import { cloudflareManagedRulesetId, PublicDnsRecord } from "./edge";

let prod: ProgramRun;
beforeAll(async () => {
  prod = await runProgram({ stack: "prod" });
});

const ruleset = (phase: string) => {
  const found = resourcesOfType(prod, "cloudflare:index/ruleset:Ruleset").filter(
    (r) => r.inputs.phase === phase,
  );
  expect(found).toHaveLength(1);
  return found[0].inputs as { kind: string; zoneId: string; rules: Array<Record<string, unknown>> };
};

describe("Edge", () => {
  it("issues an ACM certificate for the public host, validated through a DNS-only Cloudflare record", () => {
    const certificate = resourceNamed(prod, "aws:acm/certificate:Certificate", "edge-certificate");
    expect(certificate.inputs).toMatchObject({
      domainName: "chat.parley.example.com",
      validationMethod: "DNS",
    });
    const record = resourceNamed(prod, "cloudflare:index/dnsRecord:DnsRecord", "certificate-validation");
    const option = (certificate.outputs.domainValidationOptions as Array<Record<string, string>>)[0];
    expect(record.inputs).toMatchObject({
      zoneId: "0123456789abcdef0123456789abcdef",
      type: "CNAME",
      name: option.resourceRecordName.replace(/\.$/, ""),
      content: option.resourceRecordValue.replace(/\.$/, ""),
      proxied: false,
    });
    const validation = resourceNamed(
      prod,
      "aws:acm/certificateValidation:CertificateValidation",
      "certificate-validated",
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

  it("sets the zone to strict TLS, TLS 1.2+, always HTTPS, HTTP/3 and Brotli", () => {
    const settings = Object.fromEntries(
      resourcesOfType(prod, "cloudflare:index/zoneSetting:ZoneSetting").map((s) => [
        s.inputs.settingId,
        s.inputs.value,
      ]),
    );
    expect(settings).toEqual({
      ssl: "strict",
      min_tls_version: "1.2",
      always_use_https: "on",
      http3: "on",
      brotli: "on",
    });
  });

  it("caches hashed assets for a year and bypasses the API unless the origin allows caching", () => {
    const cache = ruleset("http_request_cache_settings");
    expect(cache.kind).toBe("zone");
    const [assets, api] = cache.rules;
    expect(assets).toMatchObject({
      expression: 'starts_with(http.request.uri.path, "/assets/")',
      action: "set_cache_settings",
      actionParameters: { cache: true, edgeTtl: { mode: "override_origin", default: 31536000 } },
    });
    expect(api).toMatchObject({
      expression: 'starts_with(http.request.uri.path, "/api/")',
      actionParameters: { edgeTtl: { mode: "bypass_by_default" } },
    });
  });

  it("rate-limits the API per client, and login more strictly", () => {
    const [login, api] = ruleset("http_ratelimit").rules as Array<{
      expression: string;
      action: string;
      ratelimit: { requestsPerPeriod: number; period: number; characteristics: string[] };
    }>;
    expect(login.expression).toContain('"/api/auth/login"');
    expect(api.expression).toBe('starts_with(http.request.uri.path, "/api/")');
    expect(login.ratelimit).toMatchObject({ requestsPerPeriod: 10, period: 60 });
    expect(api.ratelimit).toMatchObject({ requestsPerPeriod: 600, period: 60 });
    for (const rule of [login, api]) {
      expect(rule.action).toBe("block");
      expect(rule.ratelimit.characteristics).toContain("ip.src");
    }
  });

  it("runs the Cloudflare managed WAF ruleset on every request", () => {
    expect(ruleset("http_request_firewall_managed").rules).toEqual([
      expect.objectContaining({
        expression: "true",
        action: "execute",
        actionParameters: { id: cloudflareManagedRulesetId },
      }),
    ]);
  });

  it("proxies the public host through Cloudflare to the workload's ingress load balancer", () => {
    const [ingress] = resourcesOfType(prod, "kubernetes:networking.k8s.io/v1:Ingress");
    const hostname = (ingress.outputs.status as { loadBalancer: { ingress: Array<{ hostname: string }> } })
      .loadBalancer.ingress[0].hostname;
    expect(
      resourceNamed(prod, "cloudflare:index/dnsRecord:DnsRecord", "edge-public-host").inputs,
    ).toMatchObject({
      zoneId: "0123456789abcdef0123456789abcdef",
      name: "chat.parley.example.com",
      type: "CNAME",
      content: hostname,
      proxied: true,
    });
  });

  it("exports the public URL", () => {
    expect(prod.stackOutputs.publicUrl).toBe("https://chat.parley.example.com");
  });
});

describe("PublicDnsRecord", () => {
  it("proxies the public host through Cloudflare to the load balancer", async () => {
    const registrations = await runComponents(() => {
      new PublicDnsRecord("public", {
        stack: "prod",
        publicHost: "chat.parley.example.com",
        cloudflareZoneId: "0123456789abcdef0123456789abcdef",
        originHostname: "k8s-parley-123.us-east-1.elb.amazonaws.com",
      });
    });
    const record = registrations.find((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord");
    expect(record?.inputs).toMatchObject({
      name: "chat.parley.example.com",
      type: "CNAME",
      content: "k8s-parley-123.us-east-1.elb.amazonaws.com",
      proxied: true,
      ttl: 1,
    });
  });
});
