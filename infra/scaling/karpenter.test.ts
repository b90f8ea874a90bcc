import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stackNames } from "../../contracts/stacks";
import { architectureOf } from "./instances";
import { karpenterNodePoolSpec } from "./karpenter";
import { scalingPolicyFor } from "./policy";

// The repository's own copy of the upstream CRD, so the test runs from any checkout location.
const crdPath = join(
  __dirname,
  "../components/cluster-services/upstream/karpenter-1.14.1/karpenter.sh_nodepools.yaml",
);

type Schema = Record<string, unknown>;

/** The API server prunes undeclared fields silently; rejecting them here catches typos. */
function closed(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  if (typeof copy.items === "object") copy.items = closed(copy.items as Schema);
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties as Record<string, Schema>).map(([key, inner]) => [key, closed(inner)]),
    );
    if (copy.additionalProperties === undefined) copy.additionalProperties = false;
  }
  return copy;
}

function nodePoolValidator() {
  const crd = parse(readFileSync(crdPath, "utf8")) as {
    spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }> };
  };
  const v1 = crd.spec.versions.find((version) => version.name === "v1");
  if (!v1) throw new Error(`no v1 schema in ${crdPath}`);
  // x-kubernetes-* keywords and int64/int32 formats are Kubernetes' own; ajv skips them.
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(
    closed(v1.schema.openAPIV3Schema),
  );
}

describe("Karpenter NodePool derived from the policy", () => {
  const validate = nodePoolValidator();
  const nodePool = (spec: object) => ({
    apiVersion: "karpenter.sh/v1",
    kind: "NodePool",
    metadata: { name: "app" },
    spec,
  });

  for (const stack of stackNames) {
    it(`${stack}: passes the karpenter.sh/v1 NodePool CRD schema (Karpenter 1.14.1)`, () => {
      const spec = karpenterNodePoolSpec(scalingPolicyFor(stack), "parley-app");
      expect(validate(nodePool(spec)), JSON.stringify(validate.errors)).toBe(true);
      // The CRD's CEL rule ajv cannot run: an `In` requirement needs values.
      expect(spec.template.spec.requirements.every((r) => r.values.length > 0)).toBe(true);
    });
  }

  it("carries the policy's limits, instance choices and consolidation", () => {
    const policy = scalingPolicyFor("prod");
    const spec = karpenterNodePoolSpec(policy, "parley-app");
    expect(spec.limits).toEqual({ cpu: "64", memory: "256Gi" });
    expect(spec.template.spec.nodeClassRef).toEqual({
      group: "karpenter.k8s.aws",
      kind: "EC2NodeClass",
      name: "parley-app",
    });
    const requirement = (key: string) => spec.template.spec.requirements.find((r) => r.key === key)?.values;
    expect(requirement("karpenter.k8s.aws/instance-family")).toEqual(["c7i", "m7i", "c6i", "m6i"]);
    expect(requirement("karpenter.k8s.aws/instance-size")).toEqual(["large", "xlarge", "2xlarge"]);
    expect(requirement("karpenter.sh/capacity-type")).toEqual(["on-demand"]);
    expect(requirement("kubernetes.io/arch")).toEqual(["amd64"]);
    expect(spec.disruption).toEqual({
      consolidationPolicy: "WhenEmptyOrUnderutilized",
      consolidateAfter: "60s",
      budgets: [{ nodes: "10%" }],
    });
  });

  it("derives the architecture from the instance families", () => {
    expect(["m7i", "c6i", "t3"].map(architectureOf)).toEqual(["amd64", "amd64", "amd64"]);
    expect(["m7g", "c7gn", "t4g", "r8g"].map(architectureOf)).toEqual(["arm64", "arm64", "arm64", "arm64"]);
  });

  it("asks for each architecture of a mixed pool once, sorted, Linux nodes, and 30-day expiry", () => {
    const policy = structuredClone(scalingPolicyFor("prod"));
    policy.nodes.karpenter.instanceFamilies = ["m7g", "m7i", "c7g", "c7i"];
    const spec = karpenterNodePoolSpec(policy, "parley-app").template.spec;
    const requirement = (key: string) => spec.requirements.find((r) => r.key === key)?.values;
    expect(requirement("kubernetes.io/arch")).toEqual(["amd64", "arm64"]);
    expect(requirement("kubernetes.io/os")).toEqual(["linux"]);
    expect(spec.expireAfter).toBe("720h");
  });

  it("the schema check rejects a bad duration and an unknown field", () => {
    const spec = karpenterNodePoolSpec(scalingPolicyFor("prod"), "parley-app");
    expect(
      validate(nodePool({ ...spec, disruption: { ...spec.disruption, consolidateAfter: "1 minute" } })),
    ).toBe(false);
    expect(validate(nodePool({ ...spec, limit: { cpu: "1" } }))).toBe(false);
  });
});
