/**
 * The plan snapshot: every resource a stack declares, by the URN the Pulumi engine would give it, with
 * its type, parent, inputs and the alias URNs it answers to. A refactor of the program compares the
 * current plan with the committed one (infra/plan-snapshot/<stack>.json): a resource whose URN changed
 * must carry an alias naming its old URN, or a deployed stack would delete and recreate it; and
 * inputs must not change, or the refactor changed the infrastructure.
 *
 * The engine's rules are reproduced here because the mock monitor's URNs differ from the engine's
 * (mocks prefix only the parent's own type, the engine the parent's whole type chain) and because
 * with alias specs the engine, not the SDK, resolves aliases, including those a child inherits from
 * a renamed or retyped parent (pulumi.com/docs/iac/concepts/resources/options/aliases/; the SDK's
 * `allAliases`/`inheritedChildAlias` in @pulumi/pulumi/resource.js implement the same rules for
 * engines without alias specs).
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import {
  isSecret,
  type RegisteredAlias,
  type RegisteredResource,
  repositoryRoot,
} from "../offline-runner/runner";

const project = "parley";
const rootStackType = "pulumi:pulumi:Stack";

export interface SnapshotResource {
  type: string;
  /** The parent's URN; null for the root Stack and for resources parented to it. */
  parent: string | null;
  inputs: unknown;
  /** Old URNs this resource answers to (its own aliases and those inherited from its parents). */
  aliases: string[];
}

/** Engine URN → resource. */
export type PlanSnapshot = Record<string, SnapshotResource>;

const secretKey = "<secret>";

/** Inputs as JSON data; a secret becomes `{"<secret>": value}` so a lost secret marking is a change. */
function plainInputs(value: unknown): unknown {
  if (isSecret(value)) return { [secretKey]: plainInputs(value.value) };
  if (Array.isArray(value)) return value.map(plainInputs);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plainInputs(inner)]));
  }
  return value;
}

const qualifiedType = (urn: string) => urn.split("::")[2]!;
const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
const baseType = (urn: string) => qualifiedType(urn).split("$").pop()!;

/** The engine's URN: resources parented to the root Stack carry no parent type. */
function createUrn(stack: string, name: string, type: string, parentUrn: string | undefined): string {
  const parentType = parentUrn ? qualifiedType(parentUrn) : undefined;
  const qualified = parentType && parentType !== rootStackType ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * A parent's alias passed to a child: the same type under the parent's old URN; a child named
 * `<parent name>…` takes the parent's old name as that prefix.
 */
function inheritedChildAlias(
  stack: string,
  childName: string,
  childType: string,
  parentName: string,
  parentAlias: string,
): string {
  const name = childName.startsWith(parentName)
    ? urnName(parentAlias) + childName.slice(parentName.length)
    : childName;
  return createUrn(stack, name, childType, parentAlias);
}

/** The snapshot of a program run: engine URNs, parents and resolved aliases. */
export function snapshotOf(stack: string, resources: readonly RegisteredResource[]): PlanSnapshot {
  const byMockUrn = new Map(resources.map((r) => [r.urn, r]));
  const urns = new Map<string, string>();
  const aliases = new Map<string, string[]>();

  const engineUrn = (resource: RegisteredResource): string => {
    let urn = urns.get(resource.urn);
    if (urn === undefined) {
      const parent = resource.parent ? byMockUrn.get(resource.parent) : undefined;
      urn = createUrn(stack, resource.name, resource.type, parent && engineUrn(parent));
      urns.set(resource.urn, urn);
    }
    return urn;
  };
  const engineUrnOf = (mockUrn: string) => {
    const resource = byMockUrn.get(mockUrn);
    return resource ? engineUrn(resource) : mockUrn;
  };

  const ownAlias = (resource: RegisteredResource, alias: RegisteredAlias): string => {
    if ("urn" in alias) return alias.urn;
    const parentUrn = alias.noParent
      ? undefined
      : alias.parentUrn
        ? engineUrnOf(alias.parentUrn)
        : resource.parent && engineUrnOf(resource.parent);
    const name = alias.name ?? resource.name;
    const urn = createUrn(alias.stack ?? stack, name, alias.type ?? resource.type, parentUrn);
    return alias.project ? urn.replace(`::${project}::`, `::${alias.project}::`) : urn;
  };

  const aliasesOf = (resource: RegisteredResource): string[] => {
    const known = aliases.get(resource.urn);
    if (known) return known;
    const own = (resource.aliases ?? []).map((alias) => ownAlias(resource, alias));
    const parent = resource.parent ? byMockUrn.get(resource.parent) : undefined;
    const inherited = (parent ? aliasesOf(parent) : []).flatMap((parentAlias) => [
      inheritedChildAlias(stack, resource.name, resource.type, parent!.name, parentAlias),
      ...own.map((alias) =>
        inheritedChildAlias(stack, urnName(alias), baseType(alias), parent!.name, parentAlias),
      ),
    ]);
    const all = [...new Set([...own, ...inherited])];
    aliases.set(resource.urn, all);
    return all;
  };

  const snapshot: PlanSnapshot = {};
  for (const resource of resources) {
    const urn = engineUrn(resource);
    if (urn in snapshot) throw new Error(`two resources have the URN ${urn}`);
    const parent = resource.parent ? byMockUrn.get(resource.parent) : undefined;
    snapshot[urn] = {
      type: resource.type,
      parent: parent && parent.type !== rootStackType ? engineUrn(parent) : null,
      inputs: plainInputs(resource.inputs),
      aliases: aliasesOf(resource),
    };
  }
  return snapshot;
}

export const snapshotPath = (stack: string) =>
  path.join(repositoryRoot, "infra", "plan-snapshot", `${stack}.json`);

export function readSnapshot(stack: string): PlanSnapshot {
  return JSON.parse(readFileSync(snapshotPath(stack), "utf8")) as PlanSnapshot;
}

export function writeSnapshot(stack: string, snapshot: PlanSnapshot): void {
  writeFileSync(snapshotPath(stack), `${JSON.stringify(snapshot, null, 1)}\n`);
}

const shown = (value: unknown) => {
  const text = value === undefined ? "(absent)" : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
};

/** Each differing leaf of two input values as `path: before → after`. */
function inputChanges(before: unknown, after: unknown, at = "inputs"): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  const bothObjects =
    typeof before === "object" &&
    before !== null &&
    typeof after === "object" &&
    after !== null &&
    Array.isArray(before) === Array.isArray(after);
  if (!bothObjects) return [`${at}: ${shown(before)} → ${shown(after)}`];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys.flatMap((key) =>
    inputChanges(
      (before as Record<string, unknown>)[key],
      (after as Record<string, unknown>)[key],
      `${at}.${key}`,
    ),
  );
}

/**
 * What a deployed stack at `before` would see on an update to `after`, beyond no-op updates: each
 * entry one readable line (or block) naming the URN. Empty when the refactor is invisible.
 */
export function comparePlans(before: PlanSnapshot, after: PlanSnapshot): string[] {
  const problems: string[] = [];
  const matched = new Set<string>();
  const byAlias = new Map<string, string>();
  for (const [urn, resource] of Object.entries(after)) {
    for (const alias of resource.aliases) byAlias.set(alias, urn);
  }
  for (const [oldUrn, old] of Object.entries(before)) {
    const newUrn = oldUrn in after ? oldUrn : byAlias.get(oldUrn);
    if (newUrn === undefined) {
      problems.push(`deleted (its URN changed with no alias naming the old one): ${oldUrn}`);
      continue;
    }
    matched.add(newUrn);
    const current = after[newUrn]!;
    const label = newUrn === oldUrn ? oldUrn : `${oldUrn} (now ${newUrn}, by alias)`;
    const changes = inputChanges(old.inputs, current.inputs);
    if (changes.length > 0) problems.push(`inputs changed: ${label}\n  ${changes.join("\n  ")}`);
  }
  for (const urn of Object.keys(after)) {
    if (!matched.has(urn))
      problems.push(`created (no resource in the snapshot has this URN or an alias of it): ${urn}`);
  }
  return problems;
}
