/**
 * Test-only queries over a run of the offline runner (infra/offline-runner/runner.ts): resources by
 * type and name, and secret-aware views of registered values.
 */

import { resourceName } from "../../../infra/naming";
import { isSecret, type ProgramRun, type RegisteredResource } from "../../../infra/offline-runner/runner";

/** The value with every secret wrapper removed (for assertions on what a secret contains). */
export function reveal(value: unknown): unknown {
  if (isSecret(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, reveal(inner)]));
  }
  return value;
}

/** Every string reachable in `value` outside secret wrappers: where a plaintext secret must never appear. */
export function plaintextStrings(value: unknown): string[] {
  if (isSecret(value)) return [];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(plaintextStrings);
  if (typeof value === "object" && value !== null) return Object.values(value).flatMap(plaintextStrings);
  return [];
}

/** Convenience for tests: the registrations of one resource type. */
export function resourcesOfType(run: ProgramRun, type: string): RegisteredResource[] {
  return run.resources.filter((resource) => resource.type === type);
}

/**
 * The registration of `type` with the logical name `parley-<stack>-<parts...>` (infra/naming.ts: the
 * component's name, then the child's parts), e.g. `resourceNamed(run, "aws:ec2/vpc:Vpc", "network",
 * "vpc")`; throws unless exactly one matches, naming those of the type that exist.
 */
export function resourceNamed(run: ProgramRun, type: string, ...parts: string[]): RegisteredResource {
  const name = resourceName(run.stack, ...parts);
  const ofType = resourcesOfType(run, type);
  const matches = ofType.filter((resource) => resource.name === name);
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${type} named ${name}, found ${matches.length} (of the type: ${ofType.map((r) => r.name).join(", ") || "none"})`,
    );
  }
  return matches[0]!;
}

/** The registration with this URN (e.g. one named in another's `dependencies` or `parent`). */
export function resourceByUrn(run: ProgramRun, urn: string): RegisteredResource | undefined {
  return run.resources.find((resource) => resource.urn === urn);
}
