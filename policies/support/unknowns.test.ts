import { UnknownValueError } from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { isSet, readOrUnknown, unknown } from "./unknowns";

/** What the policy SDK's props proxy throws when a policy reads a value unknown during preview. */
const previewUnknown = () => {
  throw new UnknownValueError(unknownValue, ["arn"]);
};

describe("readOrUnknown", () => {
  it("returns the value, or `unknown` when the SDK says it is unknown in preview", () => {
    expect(readOrUnknown(() => "arn:aws:kms:x")).toBe("arn:aws:kms:x");
    expect(readOrUnknown(previewUnknown)).toBe(unknown);
  });

  it("lets any other error through", () => {
    expect(() =>
      readOrUnknown(() => {
        throw new TypeError("a real bug");
      }),
    ).toThrow("a real bug");
  });
});

describe("isSet", () => {
  it("counts a value known only after the update as set", () => {
    expect(isSet(previewUnknown)).toBe(true);
  });

  it("is false for undefined, null, an empty string and false, and true for anything else", () => {
    for (const unset of [undefined, null, "", false]) expect(isSet(() => unset)).toBe(false);
    for (const set of ["x", 0, true, [], {}]) expect(isSet(() => set)).toBe(true);
  });
});
