/**
 * The property values the offline runner captures from the Pulumi mock monitor: a secret arrives as
 * the RPC envelope `{ [specialSigKey]: specialSecretSig, value }` and a preview-time unknown as
 * pulumi's `unknown` (node_modules/@pulumi/pulumi/runtime/rpc.js, output.js).
 */
import { unknown } from "@pulumi/pulumi/output";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { containsSecret, redacted, redactSecrets, toPolicyProps } from "./values";

const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });

class Holder {
  constructor(readonly inner: unknown) {}
}

describe("containsSecret", () => {
  it("finds a secret at the top, in an array or in a nested object", () => {
    expect(containsSecret(secret("hunter2"))).toBe(true);
    expect(containsSecret(["a", secret("b")])).toBe(true);
    expect(containsSecret({ a: { b: [1, { c: secret(3) }] } })).toBe(true);
    expect(containsSecret(Object.assign(Object.create(null), { a: secret(1) }))).toBe(true);
  });

  it("finds none in plain values, other signatures or objects that are not plain", () => {
    for (const value of [null, undefined, "s", 1, [], {}, { a: [1, "b"] }, new Holder(secret("x"))])
      expect(containsSecret(value)).toBe(false);
    expect(containsSecret({ [specialSigKey]: "another-signature", value: "x" })).toBe(false);
  });
});

describe("toPolicyProps", () => {
  it("unwraps secrets at any depth, secrets inside secrets included", () => {
    expect(
      toPolicyProps({
        password: secret("hunter2"),
        nested: { list: [secret({ inner: secret("deep") }), "plain"] },
      }),
    ).toEqual({ password: "hunter2", nested: { list: [{ inner: "deep" }, "plain"] } });
  });

  it("turns unknowns into the policy SDK's sentinel string", () => {
    expect(toPolicyProps({ arn: unknown, tags: [unknown], secretArn: secret(unknown) })).toEqual({
      arn: unknownValue,
      tags: [unknownValue],
      secretArn: unknownValue,
    });
  });

  it("keeps other values as they are", () => {
    const holder = new Holder("x");
    const props = toPolicyProps({ n: 1, s: "s", f: false, z: null, holder });
    expect(props).toEqual({ n: 1, s: "s", f: false, z: null, holder });
    expect(props.holder).toBe(holder);
  });
});

describe("redactSecrets", () => {
  it("replaces each secret, however deep, with [secret] and each unknown with [unknown]", () => {
    expect(redacted).toBe("[secret]");
    expect(
      redactSecrets({
        password: secret("hunter2"),
        list: [secret({ a: 1 }), unknown, "plain"],
        deep: { arn: unknown, n: 2 },
      }),
    ).toEqual({
      password: "[secret]",
      list: ["[secret]", "[unknown]", "plain"],
      deep: { arn: "[unknown]", n: 2 },
    });
  });

  it("leaves nothing of a secret's value in the printed copy", () => {
    expect(JSON.stringify(redactSecrets({ a: [{ b: secret("hunter2") }] }))).not.toContain("hunter2");
  });
});
