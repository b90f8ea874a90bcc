/**
 * Runs the Pulumi program in-process under mocks and returns every resource registration, so the
 * offline plan (`npm run plan`, policies/plan/) and the tests can inspect what `pulumi up` would declare
 * without a cloud or the Pulumi CLI. Test-only queries over a run live in tests/support/infra/resources.ts.
 *
 * Under vitest each run re-imports the program fresh (the harness resets the module registry itself).
 * A plain `tsx` script (the plan CLI) imports it once; it can still run several stacks in one process,
 * because the program does all its work in the function it exports, not at import time.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import { parse as parseYaml } from "yaml";
import type { StackName } from "../../contracts/stacks";
import { bootstrapSecretKeys } from "../config";
import { InvokeFailure, type MockContext, mockCall, mockResource } from "./mock-outputs";

export interface RegisteredResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  custom: boolean;
  provider?: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  dependencies: string[];
  /** The `aliases` option as registered: old URNs, or specs the engine completes from this resource. */
  aliases?: RegisteredAlias[];
}

export type RegisteredAlias =
  | { urn: string }
  | { name?: string; type?: string; stack?: string; project?: string; parentUrn?: string; noParent: boolean };

export interface ProgramRun {
  stack: StackName;
  resources: RegisteredResource[];
  stackOutputs: Record<string, unknown>;
  /** Bootstrap secrets (infra/config.ts) the stack file lacks, given placeholder values for this run. */
  assumedSecrets: string[];
}

export const repositoryRoot = path.resolve(__dirname, "..", "..");

// The wire format's signatures (Pulumi's rpc module): a secret is `{[sigKey]: secretSig, value}`.
const sigKey = pulumi.runtime.specialSigKey;
const secretSig = pulumi.runtime.specialSecretSig;
const resourceSig = pulumi.runtime.specialResourceSig;

/** A value the engine would treat as a secret, in the form registered inputs and outputs carry it. */
export interface SecretValue {
  [sigKey]: typeof secretSig;
  value: unknown;
}

export function isSecret(value: unknown): value is SecretValue {
  return (
    typeof value === "object" && value !== null && (value as Record<string, unknown>)[sigKey] === secretSig
  );
}

/** Wire values as plain data: resource references become their URN; secrets keep their wrapper. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (record[sigKey] === resourceSig) return record.urn;
    if (record[sigKey] === secretSig) return { [sigKey]: secretSig, value: normalize(record.value) };
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, normalize(inner)]));
  }
  return value;
}

type Struct = { toJavaScript(): Record<string, unknown> } | undefined;
const structToPlain = (struct: Struct) => normalize(struct?.toJavaScript() ?? {}) as Record<string, unknown>;

/**
 * The stack's config as Pulumi would pass it: Pulumi.<stack>.yaml's `config`, structured values as
 * JSON text, `secure:` values replaced by a placeholder and reported as secret keys.
 */
export function readStackConfigFile(stack: string): { config: Record<string, string>; secretKeys: string[] } {
  const file = path.join(repositoryRoot, `Pulumi.${stack}.yaml`);
  const document = (parseYaml(readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(document.config ?? {})) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      config[key] = `mock-secure-value-for-${key}`;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { config, secretKeys };
}

type ProgramMain = () => Promise<Record<string, unknown>>;

/** Imports infra/index.ts afresh (under vitest the module registry is reset first). */
async function importProgram(): Promise<ProgramMain> {
  if (process.env.VITEST) {
    const { vi } = await import("vitest");
    vi.resetModules();
  }
  const loaded = (await import("../index.js")) as unknown as ProgramMain | { default: ProgramMain };
  return typeof loaded === "function" ? loaded : loaded.default;
}

interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): Struct;
  getDependenciesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getUrn(): string;
  getOutputs(): Struct;
  getAliasesList(): AliasMessage[];
}
interface AliasMessage {
  getUrn(): string;
  getSpec():
    | {
        getName(): string;
        getType(): string;
        getStack(): string;
        getProject(): string;
        getParenturn(): string;
        getNoparent(): boolean;
      }
    | undefined;
}

/** An alias as plain data; empty fields of a spec are the ones the engine fills in. */
function aliasOf(message: AliasMessage): RegisteredAlias {
  const spec = message.getSpec();
  if (!spec) return { urn: message.getUrn() };
  const optional = (key: string, value: string) => (value ? { [key]: value } : {});
  return {
    ...optional("name", spec.getName()),
    ...optional("type", spec.getType()),
    ...optional("stack", spec.getStack()),
    ...optional("project", spec.getProject()),
    ...optional("parentUrn", spec.getParenturn()),
    noParent: spec.getNoparent(),
  };
}
interface MonitorResponse {
  getUrn(): string;
  getId(): string;
  getObject(): Struct;
  setObject(struct: unknown): void;
}
type Callback = (error: unknown, response: MonitorResponse | undefined) => void;
interface StackOutputInternals {
  promise(): Promise<unknown>;
  isKnown: Promise<boolean>;
  isSecret: Promise<boolean>;
}
interface MockMonitorLike {
  invoke(request: unknown, callback: (error: unknown, response: unknown) => void): Promise<void>;
  registerResource(request: MonitorRequest, callback: Callback): Promise<void>;
  registerResourceOutputs(request: MonitorRequest, callback: Callback): void;
}

/**
 * Runs infra/index.ts for a stack under mocks. `config` overrides individual keys of Pulumi.<stack>.yaml
 * (full keys, e.g. `parley:vpcCidr`). Rejects with the program's error if it fails.
 */
export async function runProgram(options: {
  stack: StackName;
  config?: Record<string, string>;
  /** Answers to provider function calls by token, instead of the mock's (e.g. a changed IP list). */
  calls?: Record<string, Record<string, unknown>>;
  /** Keys of Pulumi.<stack>.yaml to leave unset (e.g. `parley:imageTag` before the first image). */
  unset?: readonly string[];
  /** Run as `pulumi preview`: values the cloud computes are unknown (see MockContext.preview). */
  preview?: boolean;
  /** The account's ECR images (`repository:tag`); unset: every image asked for exists. */
  ecrImages?: readonly string[];
}): Promise<ProgramRun> {
  const file = readStackConfigFile(options.stack);
  const assumedSecrets = bootstrapSecretKeys[options.stack].filter((key) => !(key in file.config));
  const config: Record<string, string> = {
    ...Object.fromEntries(assumedSecrets.map((key) => [key, `mock-secure-value-for-${key}`])),
    ...file.config,
    ...options.config,
  };
  for (const key of options.unset ?? []) delete config[key];
  const secretKeys = [...file.secretKeys, ...assumedSecrets].filter((key) => key in config);
  const context: MockContext = {
    region: config["aws:region"] ?? "us-east-1",
    preview: options.preview ?? false,
    ...(options.ecrImages ? { ecrImages: options.ecrImages } : {}),
  };

  // The engine moves a resource renamed with a name alias to its new URN and keeps its id and outputs:
  // the mock answers it as it answered the old name (type::name → former name).
  const formerNames = new Map<string, string>();
  pulumi.runtime.setAllConfig(config, secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource: (args) =>
        mockResource({ ...args, name: formerNames.get(`${args.type}::${args.name}`) ?? args.name }, context),
      call: (args) => options.calls?.[args.token] ?? mockCall(args, context),
    },
    "parley",
    options.stack,
    context.preview,
  );

  const resources: RegisteredResource[] = [];
  let stackOutputs: Record<string, unknown> = {};
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  const registerResource = monitor.registerResource.bind(monitor);
  const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
  const invoke = monitor.invoke.bind(monitor);

  // A provider reports a failed data source as failures in the response, which the SDK turns into
  // "Invoke of '<token>' failed: <reason>"; the mock monitor would lose the reason.
  monitor.invoke = (request, callback) =>
    invoke(request, (error, response) => {
      if (!(error instanceof InvokeFailure)) return callback(error, response);
      const failure = new providerProto.CheckFailure();
      failure.setProperty("");
      failure.setReason(error.message);
      const failed = new providerProto.InvokeResponse();
      failed.setFailuresList([failure]);
      callback(null, failed);
    });

  monitor.registerResource = (request, callback) => {
    const aliases = request.getAliasesList().map(aliasOf);
    const formerName = aliases.flatMap((alias) => ("name" in alias && alias.name ? [alias.name] : []))[0];
    if (formerName) formerNames.set(`${request.getType()}::${request.getName()}`, formerName);
    return registerResource(request, (error, response) => {
      if (response) {
        // The engine, not the SDK, marks `additionalSecretOutputs` as secrets: do the same here.
        const secretOutputs = request.getAdditionalsecretoutputsList();
        const struct = response.getObject();
        const outputs = struct?.toJavaScript() ?? {};
        for (const key of secretOutputs) {
          if (key in outputs && !isSecret(outputs[key]))
            outputs[key] = { [sigKey]: secretSig, value: outputs[key] };
        }
        if (struct && secretOutputs.length > 0) {
          const StructClass = struct.constructor as unknown as { fromJavaScript(value: unknown): Struct };
          response.setObject(StructClass.fromJavaScript(outputs));
        }
        resources.push({
          urn: response.getUrn(),
          type: request.getType(),
          name: request.getName(),
          parent: request.getParent() || undefined,
          custom: request.getCustom(),
          provider: request.getProvider() || undefined,
          inputs: structToPlain(request.getObject()),
          outputs: { ...(normalize(outputs) as Record<string, unknown>), id: response.getId() || undefined },
          dependencies: request.getDependenciesList(),
          aliases,
        });
      }
      callback(error, response);
    });
  };

  monitor.registerResourceOutputs = (request, callback) => {
    if (request.getUrn().split("::")[2] === "pulumi:pulumi:Stack") {
      stackOutputs = structToPlain(request.getOutputs());
    }
    registerResourceOutputs(request, callback);
  };

  let failure: unknown;
  try {
    const program = await importProgram();
    // What `pulumi up` does: run the program inside the root Stack resource. The Stack's Output derives
    // promises that nobody awaits; consume them so a failing program rejects once, here.
    const stackOutput = new pulumi.runtime.Stack(program).outputs as unknown as StackOutputInternals;
    stackOutput.isKnown.catch(() => undefined);
    stackOutput.isSecret.catch(() => undefined);
    await stackOutput.promise();
  } catch (error) {
    failure = error;
  }
  await pulumi.runtime.disconnect();
  if (failure) throw failure;
  return {
    stack: options.stack,
    resources,
    stackOutputs,
    assumedSecrets: assumedSecrets.filter((key) => key in config),
  };
}
