import { describe, expect, it } from "vitest";
import { deployment, hpa, pdb } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned, violations } from "../../tests/support/policies/policyTest";
import { deploymentHasHpa, deploymentHasPdb, hpaMinReplicas } from "./autoscaling";

const types = {
  deployment: "kubernetes:apps/v1:Deployment",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
};

describe("Kubernetes autoscaling policies", () => {
  const happy = () => [
    planned(types.deployment, deployment),
    planned(types.hpa, hpa),
    planned(types.pdb, pdb),
  ];

  it("pass the happy path", async () => {
    expect(await messages(hpaMinReplicas, happy(), { minReplicas: 3 })).toEqual([]);
    expect(await messages(deploymentHasHpa, happy())).toEqual([]);
    expect(await messages(deploymentHasPdb, happy())).toEqual([]);
  });

  it("HPA below the stack's minimum", async () => {
    const r = planned(types.hpa, mutate(hpa, "spec.minReplicas", 2));
    expect(await messages(hpaMinReplicas, [r], { minReplicas: 3 })).toEqual([
      "spec.minReplicas is 2; this stack requires at least 3.",
    ]);
    expect(await messages(hpaMinReplicas, [r], { minReplicas: 2 })).toEqual([]);
  });

  it("HPA without minReplicas means 1", async () => {
    const r = planned(types.hpa, mutate(hpa, "spec.minReplicas", undefined));
    expect(await messages(hpaMinReplicas, [r])).toEqual([
      "spec.minReplicas is 1; this stack requires at least 2.",
    ]);
  });

  it("an HPA that targets another Deployment", async () => {
    const resources = [
      planned(types.deployment, deployment),
      planned(types.hpa, mutate(hpa, "spec.scaleTargetRef.name", "other")),
    ];
    expect(await messages(deploymentHasHpa, resources)).toEqual([
      "Deployment parley/parley has no HorizontalPodAutoscaler.",
    ]);
  });

  it("a PDB whose selector does not match the pods", async () => {
    const resources = [
      planned(types.deployment, deployment),
      planned(types.pdb, mutate(pdb, "spec.selector.matchLabels.app", "other")),
    ];
    expect(await messages(deploymentHasPdb, resources)).toEqual([
      "Deployment parley/parley has no PodDisruptionBudget.",
    ]);
  });

  it("a PDB in another namespace", async () => {
    const resources = [
      planned(types.deployment, deployment),
      planned(types.pdb, mutate(pdb, "metadata.namespace", "default")),
    ];
    expect(await messages(deploymentHasPdb, resources)).toEqual([
      "Deployment parley/parley has no PodDisruptionBudget.",
    ]);
  });

  it("the violation names the Deployment's resource", async () => {
    const [only] = await violations(deploymentHasHpa, [planned(types.deployment, deployment, "app")]);
    expect(only).toMatchObject({
      resourceName: "app",
      resourceType: types.deployment,
      enforcementLevel: "mandatory",
    });
  });
});
