/**
 * Test helpers: run one policy through the offline gate (so tests exercise the engine's argument
 * shape, not a shortcut) against hand-made resources, and mutate exactly one property of them.
 */
import type { Policies } from "@pulumi/policy";
import {
  type PlannedResource,
  type PolicyConfigEntry,
  type PolicyViolation,
  runPolicyGate,
} from "../../../policies/offline";

let counter = 0;

/** A registered resource whose outputs echo its inputs (as the mocks do). */
export function planned(
  type: string,
  inputs: Record<string, unknown>,
  name = `r${++counter}`,
): PlannedResource {
  return {
    urn: `urn:pulumi:test::parley::${type}::${name}`,
    type,
    name,
    custom: true,
    inputs,
    outputs: structuredClone(inputs),
    dependencies: [],
  };
}

/** A deep copy of `value` with the property at `path` (dots, array indexes as numbers) set, or removed when `to` is undefined. */
export function mutate<T>(value: T, path: string, to: unknown): T {
  const copy = structuredClone(value);
  const keys = path.split(".");
  let target = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    target[key] ??= {};
    target = target[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (to === undefined) delete target[last];
  else target[last] = to;
  return copy;
}

/** The violations one policy reports for the resources, enforced at the given config. */
export async function violations(
  policy: Policies[number],
  resources: PlannedResource[],
  config: PolicyConfigEntry = "mandatory",
): Promise<PolicyViolation[]> {
  return runPolicyGate({ policies: [policy] }, resources, { [policy.name]: config });
}

/** Only the messages, for exact assertions. */
export async function messages(
  policy: Policies[number],
  resources: PlannedResource[],
  config: PolicyConfigEntry = "mandatory",
): Promise<string[]> {
  return (await violations(policy, resources, config)).map((v) => v.message);
}
