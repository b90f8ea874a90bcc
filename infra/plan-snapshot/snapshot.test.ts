/**
 * Both stacks' plans against the committed snapshots (infra/plan-snapshot/<stack>.json): a refactor
 * keeps every resource (a changed URN is covered by an alias naming the old one) and every input.
 * A change meant to alter the plan regenerates them with `npm run plan:snapshot`.
 *
 * The comparison itself is checked on small plans: the engine's alias rules (a component's alias
 * carries its children along, renaming their `<component name>-` prefix) and the readable report.
 */
import { describe, expect, it } from "vitest";
import { stackNames } from "../../contracts/stacks";
import { type RegisteredAlias, type RegisteredResource, runProgram } from "../offline-runner/runner";
import { comparePlans, readSnapshot, snapshotOf } from "./snapshot";

describe.each(stackNames)("the %s plan", (stack) => {
  let run: ReturnType<typeof runProgram> | undefined;
  const program = () => {
    run ??= runProgram({ stack });
    return run;
  };

  it("matches the committed snapshot: same inputs, and an alias for every changed URN", async () => {
    const { resources } = await program();
    const problems = comparePlans(readSnapshot(stack), snapshotOf(stack, resources));
    expect(
      problems,
      `${problems.join("\n")}\n(if the change is meant to alter the plan: npm run plan:snapshot, then review the diff)`,
    ).toEqual([]);
  });

  it("follows the component convention: one type-token prefix, children named `<component name>-…`", async () => {
    const { resources } = await program();
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const components = resources.filter((r) => !r.custom && r.type !== "pulumi:pulumi:Stack");
    expect(components.length).toBeGreaterThan(10);
    expect(components.map((c) => c.type).filter((type) => !type.startsWith("parley:infra:"))).toEqual([]);
    const misnamed = resources.flatMap((r) => {
      const parent = r.parent ? byUrn.get(r.parent) : undefined;
      return parent &&
        !parent.custom &&
        parent.type !== "pulumi:pulumi:Stack" &&
        !r.name.startsWith(`${parent.name}-`)
        ? [`${r.type} ${r.name} (in ${parent.name})`]
        : [];
    });
    expect(misnamed).toEqual([]);
  });
});

const stackUrn = "urn:pulumi:dev::parley::pulumi:pulumi:Stack::parley-dev";

/** A registration as the mock monitor reports it (its URN only identifies it here). */
function registered(
  type: string,
  name: string,
  parent: string | undefined,
  options: { inputs?: Record<string, unknown>; aliases?: RegisteredAlias[] } = {},
): RegisteredResource {
  return {
    urn: `mock::${type}::${name}`,
    type,
    name,
    parent,
    custom: !type.startsWith("parley:"),
    inputs: options.inputs ?? {},
    outputs: {},
    dependencies: [],
    aliases: options.aliases ?? [],
  };
}

const root = { ...registered("pulumi:pulumi:Stack", "parley-dev", undefined), urn: stackUrn };

/** A component with one child named from it and one that is not, as the program declares them. */
function plan(
  componentType: string,
  componentName: string,
  componentAliases: RegisteredAlias[] = [],
  bucketInputs: Record<string, unknown> = { bucket: "logs" },
) {
  const component = registered(componentType, componentName, stackUrn, { aliases: componentAliases });
  return snapshotOf("dev", [
    root,
    component,
    registered("aws:s3/bucket:Bucket", `${componentName}-logs`, component.urn, { inputs: bucketInputs }),
    registered("aws:iam/role:Role", "shared-role", component.urn),
  ]);
}

describe("comparePlans", () => {
  const before = plan("parley:old:Store", "parley-dev-store");

  it("gives resources the engine's URNs: the parent's whole type chain, no Stack prefix", () => {
    expect(Object.keys(before)).toEqual([
      stackUrn,
      "urn:pulumi:dev::parley::parley:old:Store::parley-dev-store",
      "urn:pulumi:dev::parley::parley:old:Store$aws:s3/bucket:Bucket::parley-dev-store-logs",
      "urn:pulumi:dev::parley::parley:old:Store$aws:iam/role:Role::shared-role",
    ]);
  });

  it("finds nothing when the plan is unchanged", () => {
    expect(comparePlans(before, plan("parley:old:Store", "parley-dev-store"))).toEqual([]);
  });

  it("reports a component type change without an alias as deletions and creations", () => {
    const problems = comparePlans(before, plan("parley:infra:Store", "parley-dev-store"));
    expect(problems.filter((p) => p.startsWith("deleted"))).toHaveLength(3);
    expect(problems.filter((p) => p.startsWith("created"))).toHaveLength(3);
    expect(problems).toContain(
      "deleted (its URN changed with no alias naming the old one): urn:pulumi:dev::parley::parley:old:Store$aws:iam/role:Role::shared-role",
    );
  });

  it("accepts a type change whose alias names the old type: the children inherit it", () => {
    const after = plan("parley:infra:Store", "parley-dev-store", [
      { type: "parley:old:Store", parentUrn: stackUrn, noParent: false },
    ]);
    expect(comparePlans(before, after)).toEqual([]);
  });

  it("accepts a renamed component: children named from it take its old name as their prefix", () => {
    const after = plan("parley:old:Store", "parley-dev-data", [
      { name: "parley-dev-store", parentUrn: stackUrn, noParent: false },
    ]);
    expect(
      after["urn:pulumi:dev::parley::parley:old:Store$aws:s3/bucket:Bucket::parley-dev-data-logs"]?.aliases,
    ).toEqual(["urn:pulumi:dev::parley::parley:old:Store$aws:s3/bucket:Bucket::parley-dev-store-logs"]);
    expect(comparePlans(before, after)).toEqual([]);
  });

  it("reports each changed input by path, with the values before and after", () => {
    const after = plan("parley:old:Store", "parley-dev-store", [], { bucket: "logs", forceDestroy: true });
    expect(comparePlans(before, after)).toEqual([
      "inputs changed: urn:pulumi:dev::parley::parley:old:Store$aws:s3/bucket:Bucket::parley-dev-store-logs\n  inputs.forceDestroy: (absent) → true",
    ]);
  });
});
