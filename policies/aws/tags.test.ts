import * as aws from "@pulumi/aws";
import { describe, expect, it } from "vitest";
import { kmsKey } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { requiredTags, taggableTypes } from "./tags";

const type = "aws:kms/key:Key";

describe("aws-required-tags", () => {
  it("passes a resource with every required tag", async () => {
    expect(await messages(requiredTags, [planned(type, kmsKey)])).toEqual([]);
  });

  it("a missing tag", async () => {
    expect(
      await messages(requiredTags, [planned(type, mutate(kmsKey, "tags.component", undefined))]),
    ).toEqual(["Missing tags: component."]);
  });

  it("the required tags come from the pack config", async () => {
    expect(await messages(requiredTags, [planned(type, kmsKey)], { requiredTags: ["owner"] })).toEqual([
      "Missing tags: owner.",
    ]);
  });

  it("the provider's defaultTags count", async () => {
    const provider = planned(
      "pulumi:providers:aws",
      { defaultTags: { tags: { component: "network" } } },
      "aws",
    );
    const key = {
      ...planned(type, mutate(kmsKey, "tags.component", undefined)),
      provider: `${provider.urn}::provider-id`,
    };
    expect(await messages(requiredTags, [provider, key])).toEqual([]);
  });

  it("lists only real @pulumi/aws resource types", () => {
    for (const type of taggableTypes) {
      const [, module, className] = /^aws:(\w+)\/\w+:(\w+)$/.exec(type)!;
      const moduleExports = (aws as unknown as Record<string, Record<string, { __pulumiType?: string }>>)[
        module!
      ];
      expect(moduleExports?.[className!]?.__pulumiType, type).toBe(type);
    }
  });

  it("types that take no tags are not applicable", async () => {
    const rule = { type: "ingress", securityGroupId: "sg-1", fromPort: 443, toPort: 443, protocol: "tcp" };
    expect(
      await messages(requiredTags, [planned("aws:ec2/securityGroupRule:SecurityGroupRule", rule)]),
    ).toEqual([]);
  });
});
