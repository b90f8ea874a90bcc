import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { stackNames } from "../contracts/stacks";
import { planned } from "../tests/support/policies/policyTest";
import { requiredTags } from "./aws/tags";
import { checkPackConfig, evaluatePolicies, resolvePolicySettings, runPolicyGate } from "./offline";
import { packArgs } from "./pack";
import { loadPackConfig } from "./support/packConfig";
import { redactSecrets } from "./support/values";

const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

/** Records what the gate hands a resource policy. */
function recorder(seen: unknown[]): ResourceValidationPolicy {
  return {
    name: "recorder",
    description: "records its arguments",
    configSchema: { properties: { threshold: { type: "integer", default: 3 } } },
    validateResource: (args, reportViolation) => {
      seen.push({ props: { ...args.props }, config: args.getConfig(), provider: args.provider?.name });
      if (args.props.flagged) reportViolation("flagged");
    },
  };
}

describe("the offline gate", () => {
  it('resolves levels like the CLI: policy entry, then "all", then the policy\'s default', () => {
    const policy = { name: "p", description: "d", enforcementLevel: "mandatory" as const };
    expect(resolvePolicySettings(policy, {}).enforcementLevel).toBe("mandatory");
    expect(resolvePolicySettings(policy, { all: "advisory" }).enforcementLevel).toBe("advisory");
    expect(resolvePolicySettings(policy, { all: "advisory", p: "disabled" }).enforcementLevel).toBe(
      "disabled",
    );
    expect(resolvePolicySettings(policy, { p: { enforcementLevel: "advisory" } }).enforcementLevel).toBe(
      "advisory",
    );
    expect(resolvePolicySettings({ name: "q", description: "d" }, {}).enforcementLevel).toBe("advisory");
  });

  it("fills schema defaults and rejects config that breaks the schema, naming policy, value and rule", () => {
    const policy = recorder([]);
    expect(resolvePolicySettings(policy, {}).config).toEqual({ threshold: 3 });
    expect(resolvePolicySettings(policy, { recorder: { threshold: 5 } }).config).toEqual({ threshold: 5 });
    expect(() => resolvePolicySettings(policy, { recorder: { threshold: "many" } })).toThrow(
      'Policy "recorder": invalid config {"threshold":"many"}: /threshold must be integer.',
    );
    expect(() => resolvePolicySettings(policy, { recorder: { treshold: 5 } })).toThrow(
      /must NOT have additional properties/,
    );
  });

  it("refuses pack config that names no policy", () => {
    expect(() => checkPackConfig({ policies: [recorder([])] }, { recorde: "advisory" })).toThrow(
      'Pack config names "recorde", which is not a policy of this pack.',
    );
  });

  it("hands policies plain inputs (secrets unwrapped), the config, and the resolved provider", async () => {
    const seen: unknown[] = [];
    const provider = planned("pulumi:providers:aws", { region: "us-east-1" }, "aws-provider");
    const resource = {
      ...planned("aws:kms/key:Key", { token: secret("s3cret") }),
      provider: `${provider.urn}::id`,
    };
    await runPolicyGate({ policies: [recorder(seen)] }, [provider, resource], {});
    expect(seen).toContainEqual({
      props: { token: "s3cret" },
      config: { threshold: 3 },
      provider: "aws-provider",
    });
  });

  it("fails a mandatory policy that cannot decide on an unknown value; an advisory one stays a note", async () => {
    // `pulumi preview` only notes "can't run policy during preview" and the update then runs unchecked.
    const reads: ResourceValidationPolicy = {
      name: "reads",
      description: "reads a value",
      enforcementLevel: "mandatory",
      validateResource: (args) => {
        if (args.props.endpoint.length > 0) return;
      },
    };
    const resource = planned("aws:x/y:Z", { endpoint: unknownValue });
    const cannotDecide = {
      policyName: "reads",
      message: "can't run policy during preview: string value at .endpoint can't be known during preview",
      urn: resource.urn,
    };
    expect(await runPolicyGate({ policies: [reads] }, [resource], {})).toEqual([
      expect.objectContaining({ ...cannotDecide, enforcementLevel: "mandatory" }),
    ]);
    expect(await runPolicyGate({ policies: [reads] }, [resource], { reads: "advisory" })).toEqual([
      expect.objectContaining({ ...cannotDecide, enforcementLevel: "advisory" }),
    ]);
  });

  it("skips disabled policies and reports stack violations against the named resource", async () => {
    const stack: StackValidationPolicy = {
      name: "stack",
      description: "one per resource",
      enforcementLevel: "mandatory",
      validateStack: (args, reportViolation) => {
        for (const r of args.resources) reportViolation(`saw ${r.props.n}`, r.urn);
      },
    };
    const resources = [planned("a:b/c:D", { n: 1 }, "one")];
    expect(await runPolicyGate({ policies: [stack] }, resources, { stack: "disabled" })).toEqual([]);
    expect(await runPolicyGate({ policies: [stack] }, resources, {})).toEqual([
      expect.objectContaining({ message: "saw 1", resourceName: "one", enforcementLevel: "mandatory" }),
    ]);
  });

  it("names the policies that found nothing to check", async () => {
    const result = await evaluatePolicies(
      { policies: [recorder([]), requiredTags] },
      [planned("aws:ec2/tag:Tag", {})],
      {},
    );
    expect(result.notApplicable).toEqual(["aws-required-tags"]);
  });

  it("redacts secrets for reports", () => {
    expect(
      redactSecrets({ a: "plain", b: secret("s3cret"), c: [secret({ deep: "x" })], d: unknownValue }),
    ).toEqual({
      a: "plain",
      b: "[secret]",
      c: ["[secret]"],
      d: "[unknown]",
    });
  });
});

describe("the pack config of each stack", () => {
  it.each(stackNames)("%s is valid for the pack", (stack) => {
    expect(() => checkPackConfig(packArgs, loadPackConfig(stack))).not.toThrow();
  });

  it("prod is stricter than dev where availability is at stake", () => {
    const level = (stack: string, name: string) =>
      resolvePolicySettings(packArgs.policies.find((p) => p.name === name)!, loadPackConfig(stack))
        .enforcementLevel;
    const config = (stack: string, name: string) =>
      resolvePolicySettings(packArgs.policies.find((p) => p.name === name)!, loadPackConfig(stack)).config;
    for (const name of [
      "rds-multi-az",
      "rds-deletion-protection",
      "rds-performance-insights",
      "elasticache-automatic-failover",
    ]) {
      expect([name, level("prod", name), level("dev", name)]).toEqual([name, "mandatory", "advisory"]);
    }
    expect(config("prod", "k8s-hpa-min-replicas")).toEqual({ minReplicas: 3 });
    expect(config("dev", "k8s-hpa-min-replicas")).toEqual({ minReplicas: 2 });
    expect(config("prod", "az-spread")).toEqual({ minZones: 3 });
    expect((config("prod", "eks-control-plane-logging").requiredLogTypes as string[]).length).toBe(5);
    expect(config("prod", "scaling-invariants")).toMatchObject({ stack: "prod" });
    expect(config("dev", "scaling-invariants")).toMatchObject({ stack: "dev" });
  });
});
