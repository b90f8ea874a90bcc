import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { cidrContains, parseStackConfig, StackConfigError } from "./config";
import { readStackConfigFile, runProgram } from "./offline-runner/runner";

/** Prod's file plus the receiver secrets bootstrap types in (bootstrapSecretKeys). */
const receivers = {
  "parley:pagerdutyRoutingKey": "pd-routing-key",
  "parley:slackTicketsWebhookUrl": "https://hooks.slack.com/services/T/B/X",
  "parley:deadMansSwitchUrl": "https://deadman.example/ping/token",
};
const prodFile = (): Record<string, unknown> => ({ ...receivers, ...readStackConfigFile("prod").config });
const devFile = () => readStackConfigFile("dev").config;

/** The issues a config produces, or [] when it is valid. */
function issuesOf(raw: Record<string, unknown>, stack: string): string[] {
  try {
    parseStackConfig(raw, stack);
    return [];
  } catch (error) {
    if (error instanceof StackConfigError) return error.issues;
    throw error;
  }
}

describe("parseStackConfig", () => {
  it("reads the committed prod and dev stacks", () => {
    const prod = parseStackConfig(prodFile(), "prod");
    expect(prod).toMatchObject({
      stack: "prod",
      region: "us-east-1",
      vpcCidr: "10.40.0.0/16",
      natGateways: "perAz",
      availabilityZones: 3,
      dbBackupRetentionDays: 14,
      apiRateLimitPerMinute: 600,
      loginRateLimitPerMinute: 10,
    });
    expect(prod.clusterApiAllowedCidrs).toEqual(["203.0.113.0/24"]);
    const dev = parseStackConfig(devFile(), "dev");
    expect(dev).toMatchObject({
      stack: "dev",
      natGateways: "single",
      imageTag: "0.1.0",
      ecrRepositoryName: "parley-dev",
    });
  });

  it("fills defaults, the AZ count from the scaling policy", () => {
    const raw = prodFile();
    delete raw["parley:availabilityZones"];
    delete raw["parley:imageTag"];
    delete raw["parley:databaseName"];
    delete raw["parley:kubernetesVersion"];
    const config = parseStackConfig(raw, "prod");
    expect(config.availabilityZones).toBe(3);
    expect(config.databaseName).toBe("parley");
    expect(config.kubernetesVersion).toBe("1.35");
    // No image yet: the platform stage of a first deploy.
    expect(config.imageTag).toBeUndefined();
  });

  it("refuses prod without alert receivers, naming the keys", () => {
    const raw = prodFile();
    delete raw["parley:pagerdutyRoutingKey"];
    delete raw["parley:slackTicketsWebhookUrl"];
    delete raw["parley:deadMansSwitchUrl"];
    expect(issuesOf(raw, "prod")).toEqual([
      "parley:pagerdutyRoutingKey, parley:slackTicketsWebhookUrl, parley:deadMansSwitchUrl are required in prod: Alertmanager would notify nobody. Set each with `pulumi config set --secret <key> --stack prod`",
    ]);
    const dev = devFile();
    expect(issuesOf(dev, "dev")).toEqual([]);
  });

  it("pins the Karpenter AMI in prod (karpenter.sh/docs/tasks/managing-amis: not @latest in production)", () => {
    expect(parseStackConfig(prodFile(), "prod").karpenterAmiAlias).toMatch(/^al2023@v\d{8}$/);
    expect(parseStackConfig(devFile(), "dev").karpenterAmiAlias).toBe("al2023@latest");
    expect(issuesOf({ ...prodFile(), "parley:karpenterAmiAlias": "al2023@latest" }, "prod")).toEqual([
      expect.stringMatching(/^parley:karpenterAmiAlias = "al2023@latest" is not allowed in prod: pin/),
    ]);
    const unset = prodFile();
    delete unset["parley:karpenterAmiAlias"];
    expect(issuesOf(unset, "prod")).toEqual([
      expect.stringMatching(/^parley:karpenterAmiAlias is required in prod: expected an AL2023 alias/),
    ]);
    expect(issuesOf({ ...devFile(), "parley:karpenterAmiAlias": "al2023@2024" }, "dev")).toEqual([
      expect.stringMatching(/^parley:karpenterAmiAlias = "al2023@2024" is not allowed/),
    ]);
  });

  it("accepts numbers and lists in the forms Pulumi and tests pass them", () => {
    const config = parseStackConfig(
      {
        ...devFile(),
        "parley:dbBackupRetentionDays": 10,
        "parley:clusterApiAllowedCidrs": ["198.51.100.0/24"],
        "parley:pipelineEgressCidrs": ["198.51.100.8/29"],
      },
      "dev",
    );
    expect(config.dbBackupRetentionDays).toBe(10);
    expect(config.clusterApiAllowedCidrs).toEqual(["198.51.100.0/24"]);
  });

  it("takes the monthly AI budget, $25000 in prod and $500 in dev by default", () => {
    expect(parseStackConfig(prodFile(), "prod").aiMonthlyBudgetUsd).toBe(25_000);
    expect(parseStackConfig(devFile(), "dev").aiMonthlyBudgetUsd).toBe(500);
    expect(
      parseStackConfig({ ...devFile(), "parley:aiMonthlyBudgetUsd": "1200" }, "dev").aiMonthlyBudgetUsd,
    ).toBe(1200);
    expect(issuesOf({ ...devFile(), "parley:aiMonthlyBudgetUsd": "0" }, "dev")).toEqual([
      'parley:aiMonthlyBudgetUsd = "0" is not allowed: expected an integer from 1 to 10000000 (US dollars of AI spend per month, whole service)',
    ]);
  });

  it("sets the app's rate limits from the stack config, with the app's defaults", () => {
    expect(parseStackConfig(prodFile(), "prod").appRateLimits).toEqual({
      ipPerMinute: 1200,
      userPerMinute: 600,
      loginPerMinute: 10,
    });
    const tuned = parseStackConfig(
      {
        ...prodFile(),
        "parley:appRateLimitIpPerMinute": "5000",
        "parley:appRateLimitUserPerMinute": 2000,
        "parley:appRateLimitLoginPerMinute": "20",
      },
      "prod",
    );
    expect(tuned.appRateLimits).toEqual({ ipPerMinute: 5000, userPerMinute: 2000, loginPerMinute: 20 });
    expect(issuesOf({ ...prodFile(), "parley:appRateLimitUserPerMinute": "0" }, "prod")).toEqual([
      'parley:appRateLimitUserPerMinute = "0" is not allowed: expected an integer from 1 to 1000000 (API requests per minute per signed-in user)',
    ]);
  });

  it("names the key, the value and what is allowed for a bad value", () => {
    expect(issuesOf({ ...prodFile(), "parley:vpcCidr": "10.0.0.0/8" }, "prod")).toEqual([
      'parley:vpcCidr = "10.0.0.0/8" is not allowed: expected an IPv4 CIDR with a /16 to /18 prefix (room for VPC-CNI pod IPs), e.g. 10.40.0.0/16',
    ]);
    expect(issuesOf({ ...prodFile(), "parley:dbBackupRetentionDays": "3" }, "prod")).toEqual([
      'parley:dbBackupRetentionDays = "3" is not allowed: expected an integer from 7 to 35',
    ]);
    expect(issuesOf({ ...prodFile(), "parley:clusterApiAllowedCidrs": '["not-a-cidr"]' }, "prod")[0]).toMatch(
      /^parley:clusterApiAllowedCidrs = "\[\\"not-a-cidr\\"\]" is not allowed: expected a non-empty list of IPv4 CIDRs/,
    );
  });

  it("reports every problem at once, including missing required keys and unknown keys", () => {
    const raw: Record<string, unknown> = {
      ...devFile(),
      "parley:natGateway": "single",
      "parley:kubernetesVersion": "1.20",
    };
    delete raw["parley:publicHost"];
    const issues = issuesOf(raw, "dev");
    expect(issues).toHaveLength(3);
    expect(issues).toContainEqual(
      expect.stringMatching(/^parley:natGateway is not a known setting: expected one of /),
    );
    expect(issues).toContainEqual(
      'parley:kubernetesVersion = "1.20" is not allowed: expected an EKS version in standard support: 1.34, 1.35 or 1.36',
    );
    expect(issues).toContainEqual(
      "parley:publicHost is required: expected a lower-case DNS host name such as chat.example.com",
    );
  });

  it("fails as a Pulumi RunError, which `pulumi up` reports without a stack trace", () => {
    expect(() => parseStackConfig({}, "dev")).toThrow(StackConfigError);
    try {
      parseStackConfig({}, "dev");
    } catch (error) {
      expect(pulumi.RunError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /^Invalid stack config:\n {2}- aws:region is required: expected /,
      );
    }
  });

  it("rejects an unknown stack", () => {
    expect(issuesOf(prodFile(), "staging")).toEqual([
      'stack "staging" is not supported: expected one of prod, dev (Pulumi.<stack>.yaml)',
    ]);
  });

  it("holds prod to stricter rules than dev", () => {
    const lax = {
      "parley:natGateways": "single",
      "parley:clusterApiAllowedCidrs": '["0.0.0.0/0"]',
      "parley:imageTag": "latest",
      "parley:availabilityZones": "2",
    };
    expect(issuesOf({ ...devFile(), ...lax }, "dev")).toEqual([]);
    const issues = issuesOf({ ...prodFile(), ...lax }, "prod");
    expect(issues).toHaveLength(4);
    expect(issues[0]).toMatch(/^parley:natGateways = "single" is not allowed in prod/);
    expect(issues[1]).toMatch(/^parley:clusterApiAllowedCidrs = \["0.0.0.0\/0"\] is not allowed in prod/);
    expect(issues[2]).toMatch(/^parley:imageTag = "latest" is not allowed in prod/);
    expect(issues[3]).toMatch(/^parley:availabilityZones = 2 is not allowed in prod/);
  });

  it("admits the pipeline's runners through the cluster API allow-list, and keeps read-only roles out of admin", () => {
    expect(parseStackConfig(prodFile(), "prod").pipelineEgressCidrs).toEqual(["203.0.113.16/29"]);
    expect(cidrContains("203.0.113.0/24", "203.0.113.16/29")).toBe(true);
    expect(cidrContains("203.0.113.16/29", "203.0.113.0/24")).toBe(false);
    expect(cidrContains("10.0.0.0/8", "11.0.0.0/29")).toBe(false);
    expect(issuesOf({ ...prodFile(), "parley:pipelineEgressCidrs": ["198.51.100.8/29"] }, "prod")).toEqual([
      'parley:pipelineEgressCidrs = ["198.51.100.8/29"] is not allowed: 198.51.100.8/29 is outside parley:clusterApiAllowedCidrs = ["203.0.113.0/24"], so the pipeline could not reach the cluster API',
    ]);
    const preview = "arn:aws:iam::123456789012:role/parley-prod-preview";
    expect(
      issuesOf(
        {
          ...prodFile(),
          "parley:clusterAdminPrincipalArns": [preview],
          "parley:clusterViewerPrincipalArns": [preview],
        },
        "prod",
      ),
    ).toEqual([
      `parley:clusterViewerPrincipalArns = ["${preview}"] is not allowed: ${preview} is also in parley:clusterAdminPrincipalArns; a read-only principal gets no admin access entry`,
    ]);
  });

  it("requires the login limit to be stricter than the API limit", () => {
    const raw = {
      ...devFile(),
      "parley:apiRateLimitPerMinute": "100",
      "parley:loginRateLimitPerMinute": "100",
    };
    expect(issuesOf(raw, "dev")).toEqual([
      "parley:loginRateLimitPerMinute = 100 is not allowed: it must be stricter (lower) than parley:apiRateLimitPerMinute = 100",
    ]);
  });
});

describe("the program with invalid config", () => {
  it("fails before declaring any resource, with the config message", async () => {
    const declared: string[] = [];
    const setMocks = pulumi.runtime.setMocks;
    const spy = vi.spyOn(pulumi.runtime, "setMocks").mockImplementation((mocks, ...rest) =>
      setMocks(
        {
          ...mocks,
          newResource: (args) => {
            declared.push(args.type);
            return mocks.newResource(args);
          },
        },
        ...rest,
      ),
    );
    try {
      await expect(runProgram({ stack: "prod", config: { "parley:natGateways": "one" } })).rejects.toThrow(
        'parley:natGateways = "one" is not allowed: expected "perAz" or "single"',
      );
    } finally {
      spy.mockRestore();
    }
    // Only the root Stack, which Pulumi registers before running the program.
    expect(declared).toEqual(["pulumi:pulumi:Stack"]);
  });
});

describe("parseStackConfig: the Cloudflare zone's plan and owner", () => {
  it("defaults to a Free zone this stack does not own, with no edge rate limits", () => {
    const raw = devFile();
    delete raw["parley:cloudflareZonePlan"];
    delete raw["parley:cloudflareZoneOwner"];
    expect(parseStackConfig(raw, "dev")).toMatchObject({
      cloudflareZonePlan: "free",
      cloudflareZoneOwner: false,
      edgeRateLimits: [],
    });
  });

  it("the owner of a Free zone gets no edge rate limits by default; of a Pro zone, both", () => {
    const owner = { ...prodFile(), "parley:cloudflareZoneOwner": "true" };
    expect(
      parseStackConfig({ ...owner, "parley:cloudflareZonePlan": "free" }, "prod").edgeRateLimits,
    ).toEqual([]);
    expect(parseStackConfig({ ...owner, "parley:cloudflareZonePlan": "pro" }, "prod").edgeRateLimits).toEqual(
      ["api", "login"],
    );
  });

  it("names the key, the value and the allowed plans", () => {
    expect(issuesOf({ ...prodFile(), "parley:cloudflareZonePlan": "premium" }, "prod")).toEqual([
      'parley:cloudflareZonePlan = "premium" is not allowed: expected the zone\'s Cloudflare plan: one of free, pro, business, enterprise',
    ]);
    expect(issuesOf({ ...prodFile(), "parley:cloudflareZoneOwner": "yes" }, "prod")).toEqual([
      'parley:cloudflareZoneOwner = "yes" is not allowed: expected true (this stack declares the zone\'s settings and rulesets; exactly one stack per zone) or false',
    ]);
  });

  it("rejects edge rate limits the zone's plan cannot scope to the stack's host", () => {
    const raw = {
      ...prodFile(),
      "parley:cloudflareZonePlan": "free",
      "parley:edgeRateLimits": '["api","login"]',
    };
    expect(issuesOf(raw, "prod")).toEqual([
      'parley:edgeRateLimits = ["api","login"] is not allowed on the "free" plan (parley:cloudflareZonePlan): its rate-limiting rules match on the path only and cannot be scoped to parley:publicHost (the app\'s own limits apply instead); expected a subset of []',
    ]);
    expect(issuesOf({ ...raw, "parley:cloudflareZonePlan": "pro" }, "prod")).toEqual([]);
  });

  it("rejects edge rate limits in a stack that does not own the zone's rulesets", () => {
    expect(issuesOf({ ...devFile(), "parley:edgeRateLimits": '["api"]' }, "dev")).toEqual([
      'parley:edgeRateLimits = ["api"] is not allowed when parley:cloudflareZoneOwner is false: rate limits live in the zone\'s one entry-point ruleset, which the owning stack declares; expected []',
    ]);
    expect(issuesOf({ ...devFile(), "parley:edgeRateLimits": '["waf"]' }, "dev")).toEqual([
      'parley:edgeRateLimits = "[\\"waf\\"]" is not allowed: expected a list of edge rate limits from ["api","login"], e.g. ["api","login"] or []',
    ]);
  });
});

describe("observability settings", () => {
  it("keeps Prometheus data for the whole 30-day SLO window by default, in dev too", () => {
    expect(parseStackConfig(devFile(), "dev").prometheusRetention).toBe("30d");
    expect(parseStackConfig(prodFile(), "prod").prometheusRetention).toBe("30d");
    expect(
      parseStackConfig({ ...devFile(), "parley:prometheusRetention": "5w" }, "dev").prometheusRetention,
    ).toBe("5w");
  });

  it("refuses a retention shorter than the SLO window, naming the key, the value and the window", () => {
    const [issue] = issuesOf({ ...devFile(), "parley:prometheusRetention": "7d" }, "dev");
    expect(issue).toContain('parley:prometheusRetention = "7d" is not allowed');
    expect(issue).toContain("covering the 30d SLO window");
    expect(issuesOf({ ...devFile(), "parley:prometheusRetention": "4w" }, "dev")).toHaveLength(1);
  });

  it("takes the dead man's switch URL with the other receiver secrets, and reports which are missing", () => {
    const receivers = {
      "parley:pagerdutyRoutingKey": "pd-key",
      "parley:slackTicketsWebhookUrl": "https://hooks.slack.example/x",
      "parley:deadMansSwitchUrl": "https://deadman.example/ping/secret-token",
    };
    expect(parseStackConfig({ ...devFile(), ...receivers }, "dev").alertReceivers).toBeDefined();
    const { "parley:deadMansSwitchUrl": _, ...withoutDeadMan } = receivers;
    const [issue] = issuesOf({ ...devFile(), ...withoutDeadMan }, "dev");
    expect(issue).toMatch(/go together.*missing parley:deadMansSwitchUrl$/);
    // A secret's value is never echoed, even when it is refused.
    const [empty] = issuesOf({ ...devFile(), ...receivers, "parley:deadMansSwitchUrl": "" }, "dev");
    expect(empty).toContain("parley:deadMansSwitchUrl");
    expect(empty).not.toContain("secret-token");
  });
});
