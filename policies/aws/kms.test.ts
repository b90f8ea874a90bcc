import { describe, expect, it } from "vitest";
import { kmsKey } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { kmsKeyRotation } from "./kms";

const type = "aws:kms/key:Key";

describe("kms-key-rotation", () => {
  it("passes a rotating key", async () => {
    expect(await messages(kmsKeyRotation, [planned(type, kmsKey)])).toEqual([]);
  });

  it("rotation left off", async () => {
    expect(
      await messages(kmsKeyRotation, [planned(type, mutate(kmsKey, "enableKeyRotation", undefined))]),
    ).toEqual(["enableKeyRotation is not true."]);
  });

  it("asymmetric keys cannot rotate and are exempt", async () => {
    const asymmetric = mutate(
      mutate(kmsKey, "enableKeyRotation", undefined),
      "customerMasterKeySpec",
      "RSA_2048",
    );
    expect(await messages(kmsKeyRotation, [planned(type, asymmetric)])).toEqual([]);
  });
});
