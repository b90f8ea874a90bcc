/**
 * The offline policy gate: runs the pack's policies against resources registered by the program
 * under mocks, calling each `validateResource`/`validateStack` with the argument shape the Pulumi
 * engine builds (see @pulumi/policy's server.js) and honouring the pack config's enforcement
 * levels and parameters the way the CLI does (schema defaults, validation, the "all" key).
 */
import {
  type EnforcementLevel,
  type Policy,
  type PolicyPackArgs,
  type PolicyProviderResource,
  type PolicyResource,
  type PolicyResourceOptions,
  type ReportViolation,
  type ResourceValidation,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  type StackValidationPolicy,
  UnknownValueError,
  unknownCheckingProxy,
} from "@pulumi/policy";
import type { Resource } from "@pulumi/pulumi";
import Ajv from "ajv";
import type { RegisteredResource } from "../infra/offline-runner/runner";
import { toPolicyProps } from "./support/values";

/** A resource as the program registered it under mocks (provider is `<provider urn>::<provider id>`). */
export type PlannedResource = RegisteredResource;

export type PolicyConfigEntry =
  | EnforcementLevel
  | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>);
/** The format of `pulumi preview --policy-pack-config <file>`. */
export type PackConfig = Record<string, PolicyConfigEntry>;

export interface PolicyViolation {
  policyName: string;
  enforcementLevel: "advisory" | "mandatory";
  description: string;
  message: string;
  urn?: string;
  resourceType?: string;
  resourceName?: string;
}

export interface PolicySettings {
  enforcementLevel: EnforcementLevel;
  config: Record<string, unknown>;
}

/** The engine's default when neither the pack nor the policy sets a level. */
const defaultEnforcementLevel: EnforcementLevel = "advisory";

class NotApplicable extends Error {}

function isStackPolicy(policy: Policy): policy is StackValidationPolicy {
  return typeof (policy as StackValidationPolicy).validateStack === "function";
}

/** Enforcement level and parameters of one policy under a pack config, validated against its schema. */
export function resolvePolicySettings(
  policy: Policy,
  packConfig: PackConfig,
  packEnforcementLevel: EnforcementLevel = defaultEnforcementLevel,
): PolicySettings {
  const entry = packConfig[policy.name];
  const all = packConfig.all;
  const { enforcementLevel: configured, ...params } =
    typeof entry === "string" ? { enforcementLevel: entry } : (entry ?? {});
  const enforcementLevel =
    configured ??
    (typeof all === "string" ? all : all?.enforcementLevel) ??
    policy.enforcementLevel ??
    packEnforcementLevel;
  const config: Record<string, unknown> = structuredClone(params);
  const schema = {
    type: "object",
    properties: policy.configSchema?.properties ?? {},
    required: policy.configSchema?.required ?? [],
    additionalProperties: false,
  };
  const validate = new Ajv({ useDefaults: true, allErrors: true, strict: false }).compile(schema);
  if (!validate(config)) {
    const problems = (validate.errors ?? [])
      .map((e) => `${e.instancePath || "config"} ${e.message}`)
      .join("; ");
    throw new Error(`Policy "${policy.name}": invalid config ${JSON.stringify(params)}: ${problems}.`);
  }
  return { enforcementLevel, config };
}

/** Refuses config entries that name no policy of the pack (a typo would silently do nothing). */
export function checkPackConfig(pack: PolicyPackArgs, packConfig: PackConfig): void {
  const { policies } = pack;
  const names = new Set(policies.map((p) => p.name));
  for (const key of Object.keys(packConfig)) {
    if (key !== "all" && !names.has(key)) {
      throw new Error(`Pack config names "${key}", which is not a policy of this pack.`);
    }
  }
  for (const policy of policies) resolvePolicySettings(policy, packConfig, pack.enforcementLevel);
}

const defaultOptions = (parent?: string): PolicyResourceOptions => ({
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
  ...(parent ? { parent } : {}),
});

type ResourceClass = { new (...rest: never[]): Resource };

/** The engine's type test: the class's registered Pulumi type, else its isInstance. */
function isTypeOf(type: string, resourceClass: ResourceClass): boolean {
  const pulumiType = (resourceClass as unknown as { __pulumiType?: string }).__pulumiType;
  if (pulumiType) return type === pulumiType;
  const isInstance = (resourceClass as unknown as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function providerUrn(reference: string | undefined): string | undefined {
  return reference ? reference.slice(0, reference.lastIndexOf("::")) : undefined;
}

function policyProvider(
  resource: PlannedResource,
  byUrn: Map<string, PlannedResource>,
): PolicyProviderResource | undefined {
  const provider = byUrn.get(providerUrn(resource.provider) ?? "");
  if (!provider) return undefined;
  return {
    type: provider.type,
    props: unknownCheckingProxy(toPolicyProps(provider.inputs)),
    urn: provider.urn,
    name: provider.name,
  };
}

const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

interface Evaluation {
  policy: Policy;
  settings: PolicySettings;
  violations: PolicyViolation[];
  /** Whether any validation ran to the end on something it applies to. */
  applied: boolean;
}

function reporter(evaluation: Evaluation, subject?: PlannedResource): ReportViolation {
  return (message: string, urn?: string) => {
    const level =
      evaluation.settings.enforcementLevel === "mandatory" ||
      evaluation.settings.enforcementLevel === "remediate";
    evaluation.violations.push({
      policyName: evaluation.policy.name,
      enforcementLevel: level ? "mandatory" : "advisory",
      description: evaluation.policy.description,
      message,
      ...(subject ? { urn: subject.urn } : urn ? { urn } : {}),
    });
  };
}

/**
 * Runs one validation. A policy that reads a value only known after the update cannot decide:
 * `pulumi preview` merely notes that, and the update then runs unchecked. Here a mandatory policy
 * that cannot decide is a failure (it must be written to decide on what preview knows); an
 * advisory one stays a note.
 */
async function guarded(
  evaluation: Evaluation,
  run: () => void | Promise<void>,
  subject?: PlannedResource,
): Promise<void> {
  try {
    await run();
    evaluation.applied = true;
  } catch (error) {
    if (error instanceof NotApplicable) return;
    if (error instanceof UnknownValueError) {
      evaluation.applied = true;
      const level = evaluation.settings.enforcementLevel;
      evaluation.violations.push({
        policyName: evaluation.policy.name,
        enforcementLevel: level === "mandatory" || level === "remediate" ? "mandatory" : "advisory",
        description: evaluation.policy.description,
        message: `can't run policy during preview: ${(error as Error).message}`,
        ...(subject ? { urn: subject.urn } : {}),
      });
      return;
    }
    throw new Error(`Policy "${evaluation.policy.name}" failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const plainInputCache = new WeakMap<PlannedResource, Record<string, unknown>>();

/** Inputs as the engine hands them to a policy, computed once per resource. */
function plainInputs(resource: PlannedResource): Record<string, unknown> {
  let plain = plainInputCache.get(resource);
  if (!plain) {
    plain = toPolicyProps(resource.inputs);
    plainInputCache.set(resource, plain);
  }
  return plain;
}

/** What a policy learns about one resource, alike whether it validates the resource or the stack. */
function resourceFacts(
  resource: PlannedResource,
  props: Record<string, unknown>,
  byUrn: Map<string, PlannedResource>,
): Pick<
  ResourceValidationArgs,
  "type" | "props" | "urn" | "name" | "opts" | "provider" | "isType" | "asType"
> {
  const provider = policyProvider(resource, byUrn);
  return {
    type: resource.type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: defaultOptions(resource.parent),
    ...(provider ? { provider } : {}),
    isType: (resourceClass) => isTypeOf(resource.type, resourceClass),
    asType: (resourceClass) => (isTypeOf(resource.type, resourceClass) ? props : undefined) as never,
  };
}

async function validateResources(
  evaluation: Evaluation,
  validations: ResourceValidation[],
  resources: readonly PlannedResource[],
  byUrn: Map<string, PlannedResource>,
): Promise<void> {
  for (const resource of resources) {
    for (const validation of validations) {
      // The engine skips a typed validation (validateResourceOfType) for other types without calling it.
      const onlyType = (validation as { __pulumiType?: string }).__pulumiType;
      if (onlyType && onlyType !== resource.type) continue;
      // A fresh copy per validation, as the engine deserializes the inputs for every call.
      const props = unknownCheckingProxy(structuredClone(plainInputs(resource)));
      const args: ResourceValidationArgs = {
        ...resourceFacts(resource, props, byUrn),
        stackTags: new Map(),
        getConfig: <T extends object>() => evaluation.settings.config as T,
        notApplicable,
      };
      await guarded(evaluation, () => validation(args, reporter(evaluation, resource)), resource);
    }
  }
}

/** The stack view: outputs as props, parents and dependencies linked to resource objects. */
export function policyResources(
  resources: readonly PlannedResource[],
  byUrn = new Map(resources.map((r) => [r.urn, r])),
): PolicyResource[] {
  const views = new Map<string, PolicyResource>();
  for (const resource of resources) {
    const props = unknownCheckingProxy(toPolicyProps(resource.outputs));
    views.set(resource.urn, {
      ...resourceFacts(resource, props, byUrn),
      dependencies: [],
      propertyDependencies: {},
    });
  }
  for (const resource of resources) {
    const view = views.get(resource.urn)!;
    const parent = resource.parent ? views.get(resource.parent) : undefined;
    if (parent) view.parent = parent;
    view.dependencies = resource.dependencies.flatMap((urn) => views.get(urn) ?? []);
  }
  return [...views.values()];
}

export interface GateResult {
  violations: PolicyViolation[];
  /** Enabled policies that found nothing in the stack to check. */
  notApplicable: string[];
}

/** Runs every enabled policy of the pack against the resources. */
export async function evaluatePolicies(
  pack: PolicyPackArgs,
  resources: readonly PlannedResource[],
  packConfig: PackConfig,
): Promise<GateResult> {
  checkPackConfig(pack, packConfig);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const stackView = policyResources(resources, byUrn);
  const violations: PolicyViolation[] = [];
  const nothingToCheck: string[] = [];
  for (const policy of pack.policies) {
    const settings = resolvePolicySettings(policy, packConfig, pack.enforcementLevel);
    if (settings.enforcementLevel === "disabled") continue;
    const evaluation: Evaluation = { policy, settings, violations: [], applied: false };
    if (isStackPolicy(policy)) {
      const args = {
        resources: stackView,
        stackTags: new Map<string, string>(),
        getConfig: <T extends object>() => settings.config as T,
        notApplicable,
      };
      await guarded(evaluation, () => policy.validateStack(args, reporter(evaluation)));
    } else {
      const { validateResource } = policy as ResourceValidationPolicy;
      const validations = validateResource ? [validateResource].flat() : [];
      await validateResources(evaluation, validations, resources, byUrn);
    }
    violations.push(...evaluation.violations);
    if (!evaluation.applied) nothingToCheck.push(policy.name);
  }
  return {
    violations: violations.map((v) => {
      const resource = v.urn ? byUrn.get(v.urn) : undefined;
      return resource ? { ...v, resourceType: resource.type, resourceName: resource.name } : v;
    }),
    notApplicable: nothingToCheck,
  };
}

/** The violations the enabled policies of the pack find in the resources. */
export async function runPolicyGate(
  pack: PolicyPackArgs,
  resources: readonly PlannedResource[],
  packConfig: PackConfig,
): Promise<PolicyViolation[]> {
  return (await evaluatePolicies(pack, resources, packConfig)).violations;
}
