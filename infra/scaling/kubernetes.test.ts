import type * as k8s from "@pulumi/kubernetes";
import { describe, expect, it } from "vitest";
import { hpaRequestRateMetric } from "../../contracts/metrics";
import { stackNames } from "../../contracts/stacks";
import { dbPoolEnv } from "./database";
import { containerResources, hpaSpec, pdbSpec } from "./kubernetes";
import { scalingPolicyFor } from "./policy";

async function validateWithUpstreamModel(module: string, kind: string, object: object): Promise<void> {
  const loaded = (await import(module)) as Record<string, new (data: object) => { validate(): void }>;
  new loaded[kind](object).validate();
}

describe("Kubernetes objects derived from the policy", () => {
  const prod = scalingPolicyFor("prod");

  it("gives the app container the policy's requests and limits", () => {
    expect(containerResources(prod)).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "1000m", memory: "1024Mi" },
    });
  });

  it("gives the app its pool sizes as environment variables", () => {
    expect(dbPoolEnv(prod)).toEqual({ DB_POOL_MAX: "10", DB_REPLICA_POOL_MAX: "10" });
  });

  it("scales on CPU, memory and the catalogue's request-rate metric with the policy's behaviour", () => {
    const spec = hpaSpec(prod, "parley");
    expect(spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "parley" });
    expect([spec.minReplicas, spec.maxReplicas]).toEqual([prod.pods.minReplicas, prod.pods.maxReplicas]);
    expect(spec.metrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
      },
      {
        type: "Resource",
        resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } },
      },
      {
        type: "Pods",
        pods: {
          metric: { name: hpaRequestRateMetric },
          target: { type: "AverageValue", averageValue: String(prod.hpa.targetRequestsPerSecondPerPod) },
        },
      },
    ]);
    expect(spec.behavior).toEqual({ scaleUp: prod.hpa.scaleUp, scaleDown: prod.hpa.scaleDown });
    // The spec is a copy: editing it cannot change the policy.
    spec.behavior.scaleUp.policies[0].value = 1;
    expect(prod.hpa.scaleUp.policies[0].value).toBe(100);
  });

  it("is assignable to @pulumi/kubernetes' input types", () => {
    const hpa: k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec = hpaSpec(prod, "parley");
    const pdb: k8s.types.input.policy.v1.PodDisruptionBudgetSpec = pdbSpec(prod, { app: "parley" });
    const resources: k8s.types.input.core.v1.ResourceRequirements = containerResources(prod);
    expect([hpa, pdb, resources].every(Boolean)).toBe(true);
  });

  for (const stack of stackNames) {
    it(`${stack}: the HPA and PDB pass the upstream Kubernetes schemas`, async () => {
      const policy = scalingPolicyFor(stack);
      await validateWithUpstreamModel(
        "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
        "HorizontalPodAutoscaler",
        {
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "parley" },
          spec: hpaSpec(policy, "parley"),
        },
      );
      await validateWithUpstreamModel(
        "kubernetes-models/policy/v1/PodDisruptionBudget",
        "PodDisruptionBudget",
        {
          apiVersion: "policy/v1",
          kind: "PodDisruptionBudget",
          metadata: { name: "parley" },
          spec: pdbSpec(policy, { app: "parley" }),
        },
      );
    });
  }

  it("the upstream schema check rejects a malformed HPA", async () => {
    const spec = { ...hpaSpec(prod, "parley"), maxReplicas: "many" };
    await expect(
      validateWithUpstreamModel(
        "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
        "HorizontalPodAutoscaler",
        {
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "parley" },
          spec,
        },
      ),
    ).rejects.toThrow(/maxReplicas/);
  });

  it("gives the PDB the policy's maxUnavailable over the given labels", () => {
    expect(pdbSpec(prod, { app: "parley" })).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { app: "parley" } },
    });
  });
});
