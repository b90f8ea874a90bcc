/**
 * The one naming helper: every Pulumi resource name and every set of AWS tags in the program comes
 * from here, so names are predictable (`parley-<stack>-<part>...`) and every taggable resource
 * carries the same four tags.
 */
import type { StackName } from "../contracts/stacks";

export const projectName = "parley";

/** The tags every taggable AWS resource carries. */
export interface CommonTags {
  project: string;
  stack: StackName;
  component: string;
  "managed-by": "pulumi";
  [key: string]: string;
}

const namePart = /^[a-z0-9]+(-[a-z0-9]+)*$/;

function checked(parts: string[]): string[] {
  for (const part of parts) {
    if (!namePart.test(part)) {
      throw new Error(`resource name part "${part}" must be lower-case letters, digits and single hyphens`);
    }
  }
  return parts;
}

/** `parley-<stack>-<parts...>`; parts are lower-case words joined by hyphens. */
export function resourceName(stack: StackName, ...parts: string[]): string {
  return [projectName, stack, ...checked(parts)].join("-");
}

/** The type token of a Parley component: every component shares the one prefix `parley:infra:`. */
export const componentType = (kind: string) => `${projectName}:infra:${kind}`;

/** The common tags of a component's resources, plus any resource-specific ones. */
export function commonTags(
  stack: StackName,
  component: string,
  extra: Record<string, string> = {},
): CommonTags {
  return { ...extra, project: projectName, stack, component, "managed-by": "pulumi" };
}

/** Names and tags bound to one stack and component: what a ComponentResource uses for its children. */
export interface Naming {
  stack: StackName;
  component: string;
  /** `parley-<stack>-<component>-<parts...>` (just `parley-<stack>-<component>` without parts). */
  name(...parts: string[]): string;
  tags(extra?: Record<string, string>): CommonTags;
}

export function naming(stack: StackName, component: string): Naming {
  return {
    stack,
    component,
    name: (...parts) => resourceName(stack, component, ...parts),
    tags: (extra) => commonTags(stack, component, extra),
  };
}

/**
 * What a ComponentResource uses for its children: names `<its name>-<parts...>` (the program names
 * components `parley-<stack>-<component>`), tags naming the stack and `component`.
 */
export function componentNaming(name: string, stack: StackName, component: string): Naming {
  return {
    stack,
    component,
    name: (...parts) => [name, ...checked(parts)].join("-"),
    tags: (extra) => commonTags(stack, component, extra),
  };
}
