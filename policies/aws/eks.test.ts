import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import { describe, expect, it } from "vitest";
import { eksCluster } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { eksControlPlaneLogging, eksEndpointRestricted, eksPolicies, eksSecretsEncryption } from "./eks";

const type = "aws:eks/cluster:Cluster";

describe("EKS policies", () => {
  it("pass the happy-path cluster", async () => {
    for (const policy of eksPolicies)
      expect(await messages(policy, [planned(type, eksCluster)]), policy.name).toEqual([]);
  });

  it("no secrets encryption", async () => {
    const r = planned(type, mutate(eksCluster, "encryptionConfig", undefined));
    expect(await messages(eksSecretsEncryption, [r])).toEqual([
      'encryptionConfig does not encrypt "secrets" with a KMS key.',
    ]);
  });

  it("encryption config that does not cover secrets", async () => {
    const r = planned(type, mutate(eksCluster, "encryptionConfig.resources", []));
    expect(await messages(eksSecretsEncryption, [r])).toEqual([
      'encryptionConfig does not encrypt "secrets" with a KMS key.',
    ]);
  });

  it("a KMS key ARN, unknown during preview, counts as set", async () => {
    const r = planned(type, mutate(eksCluster, "encryptionConfig.provider.keyArn", unknownValue));
    expect(await messages(eksSecretsEncryption, [r])).toEqual([]);
  });

  it("audit logs missing, against the default and a configured list", async () => {
    const r = planned(type, mutate(eksCluster, "enabledClusterLogTypes", ["api", "authenticator"]));
    expect(await messages(eksControlPlaneLogging, [r])).toEqual(["enabledClusterLogTypes lacks audit."]);
    expect(await messages(eksControlPlaneLogging, [r], { requiredLogTypes: ["api", "scheduler"] })).toEqual([
      "enabledClusterLogTypes lacks scheduler.",
    ]);
  });

  it("a configured log type that EKS does not have is a config error", async () => {
    await expect(
      messages(eksControlPlaneLogging, [planned(type, eksCluster)], { requiredLogTypes: ["apis"] }),
    ).rejects.toThrow(
      /eks-control-plane-logging.*requiredLogTypes\/0 must be equal to one of the allowed values/,
    );
  });

  it("no private endpoint", async () => {
    const r = planned(type, mutate(eksCluster, "vpcConfig.endpointPrivateAccess", false));
    expect(await messages(eksEndpointRestricted, [r])).toEqual([
      "vpcConfig.endpointPrivateAccess is not true.",
    ]);
  });

  it("public endpoint without an allow-list", async () => {
    const r = planned(type, mutate(eksCluster, "vpcConfig.publicAccessCidrs", undefined));
    expect(await messages(eksEndpointRestricted, [r])).toEqual([
      "The public endpoint is on and vpcConfig.publicAccessCidrs is empty (AWS opens it to 0.0.0.0/0).",
    ]);
  });

  it("public endpoint open to the world", async () => {
    const r = planned(type, mutate(eksCluster, "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"]));
    expect(await messages(eksEndpointRestricted, [r])).toEqual([
      "vpcConfig.publicAccessCidrs opens the public endpoint to the world (0.0.0.0/0).",
    ]);
  });

  it("a private-only endpoint needs no allow-list", async () => {
    const privateOnly = mutate(
      mutate(eksCluster, "vpcConfig.endpointPublicAccess", false),
      "vpcConfig.publicAccessCidrs",
      undefined,
    );
    expect(await messages(eksEndpointRestricted, [planned(type, privateOnly)])).toEqual([]);
  });

  it("an encryption config without resources or without a key provider", async () => {
    for (const path of ["encryptionConfig.resources", "encryptionConfig.provider"]) {
      const r = planned(type, mutate(eksCluster, path, undefined));
      expect(await messages(eksSecretsEncryption, [r]), path).toEqual([
        'encryptionConfig does not encrypt "secrets" with a KMS key.',
      ]);
    }
  });

  it("lists every missing log type", async () => {
    const r = planned(type, mutate(eksCluster, "enabledClusterLogTypes", ["api"]));
    expect(await messages(eksControlPlaneLogging, [r])).toEqual([
      "enabledClusterLogTypes lacks audit, authenticator.",
    ]);
  });

  it("an allow-list holding a world range among private ones", async () => {
    const r = planned(type, mutate(eksCluster, "vpcConfig.publicAccessCidrs", ["203.0.113.0/24", "::/0"]));
    expect(await messages(eksEndpointRestricted, [r])).toEqual([
      "vpcConfig.publicAccessCidrs opens the public endpoint to the world (203.0.113.0/24, ::/0).",
    ]);
  });
});
