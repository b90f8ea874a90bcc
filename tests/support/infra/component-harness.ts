/**
 * Runs one or more ComponentResources under Pulumi mocks, outside the whole program, and returns what
 * they registered: for component tests with fake arguments (the whole stack runs through infra/offline-runner/runner.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { mockResource } from "../../../infra/offline-runner/mock-outputs";
import { reveal } from "./resources";

/** Component tests fake AWS values in this region. */
const context = { region: "eu-west-1" };

export interface ComponentRegistration {
  type: string;
  name: string;
  /** Inputs as registered: secrets keep their wrapper (see `reveal` in ./resources.ts). */
  inputs: Record<string, unknown>;
}

// The Pulumi runtime is process-global: runs started together would register into each other's
// mocks, so they are queued.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Calls `build` (which constructs components with fake arguments) under mocks in a fresh Pulumi
 * runtime, waits for every registration, and returns them. Runs one at a time.
 */
export function runComponents(
  build: () => void | Promise<void>,
  options: { stack?: string } = {},
): Promise<ComponentRegistration[]> {
  const run = queue.then(() => runOnce(build, options.stack ?? "dev"));
  queue = run.catch(() => undefined);
  return run;
}

async function runOnce(build: () => void | Promise<void>, stack: string): Promise<ComponentRegistration[]> {
  const registrations: ComponentRegistration[] = [];
  pulumi.runtime.setAllConfig({}, []);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registrations.push({ type: args.type, name: args.name, inputs: args.inputs });
        return mockResource({ ...args, inputs: reveal(args.inputs) as Record<string, unknown> }, context);
      },
      call: (args) => {
        throw new Error(`unexpected provider function call ${args.token} in a component test`);
      },
    },
    "parley",
    stack,
    false,
  );
  let failure: unknown;
  try {
    await build();
  } catch (error) {
    failure = error;
  }
  await pulumi.runtime.disconnect();
  if (failure) throw failure;
  return registrations;
}

/** The registrations of one resource type. */
export function ofType(registrations: ComponentRegistration[], type: string): ComponentRegistration[] {
  return registrations.filter((registration) => registration.type === type);
}

/** The single registration of a type (and, optionally, with a name ending in `suffix`); fails otherwise. */
export function single(
  registrations: ComponentRegistration[],
  type: string,
  suffix = "",
): ComponentRegistration {
  const found = ofType(registrations, type).filter((registration) => registration.name.endsWith(suffix));
  if (found.length !== 1) {
    throw new Error(`expected one ${type}${suffix ? ` named *${suffix}` : ""}, found ${found.length}`);
  }
  return found[0];
}

/** The value at a dotted path (`spec.template.spec`; array indexes as numbers), or undefined. */
export function field(value: unknown, dottedPath: string): unknown {
  let current = value;
  for (const key of dottedPath.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
