/**
 * Validates Kubernetes objects against their upstream schemas, offline: built-in kinds with
 * `kubernetes-models`, Prometheus Operator kinds with `@kubernetes-models/prometheus-operator`,
 * Karpenter's NodePool and EC2NodeClass with the CRDs' `openAPIV3Schema` (vendored next to the
 * component, the same the chart installs) through ajv.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv, { type ValidateFunction } from "ajv";
import { parseAllDocuments } from "yaml";
import { reveal } from "./resources";

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  [key: string]: unknown;
}

/** The object a `kubernetes:<group>/<version>:<Kind>` registration declares (its inputs). */
export function isKubernetesType(type: string): boolean {
  return type.startsWith("kubernetes:") && type !== "kubernetes:helm.sh/v3:Release";
}

const karpenterCrdDirectory = path.resolve(
  __dirname,
  "../../../infra/components",
  "cluster-services",
  "upstream",
  "karpenter-1.14.1",
);

type Schema = Record<string, unknown>;

/**
 * The API server prunes fields a structural schema does not declare, silently. Forbidding them here
 * turns a typo in a spec (a field Karpenter would never see) into a test failure.
 */
function forbidUnknownFields(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  for (const key of ["items", "additionalProperties"]) {
    if (typeof copy[key] === "object" && copy[key] !== null)
      copy[key] = forbidUnknownFields(copy[key] as Schema);
  }
  for (const key of ["anyOf", "allOf", "oneOf"]) {
    if (Array.isArray(copy[key])) copy[key] = (copy[key] as Schema[]).map(forbidUnknownFields);
  }
  if (copy.properties) {
    copy.properties = Object.fromEntries(
      Object.entries(copy.properties as Record<string, Schema>).map(([name, inner]) => [
        name,
        forbidUnknownFields(inner),
      ]),
    );
    if (copy.additionalProperties === undefined && !copy["x-kubernetes-preserve-unknown-fields"]) {
      copy.additionalProperties = false;
    }
  }
  return copy;
}

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: Array<{ name: string; schema: { openAPIV3Schema: Schema } }>;
  };
}

let karpenterValidators: Map<string, ValidateFunction> | undefined;

function karpenterValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  if (!karpenterValidators) {
    // CRD schemas carry x-kubernetes-* keywords and formats (int-or-string...) ajv does not know.
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    karpenterValidators = new Map();
    for (const file of ["karpenter.sh_nodepools.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml"]) {
      for (const document of parseAllDocuments(
        readFileSync(path.join(karpenterCrdDirectory, file), "utf8"),
      )) {
        const crd = document.toJS() as Crd | null;
        if (!crd) continue;
        for (const version of crd.spec.versions) {
          const schema = forbidUnknownFields(version.schema.openAPIV3Schema);
          karpenterValidators.set(
            `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`,
            ajv.compile(schema),
          );
        }
      }
    }
  }
  return karpenterValidators.get(`${apiVersion}/${kind}`);
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: object) => Model;

/** The module of a kind in kubernetes-models (built-in API groups) or the Prometheus Operator models. */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith("monitoring.coreos.com/"))
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/**
 * Validates one object; resolves to the list of schema violations (empty when valid). Rejects for a
 * kind no schema is known for, so nothing declared goes unvalidated.
 */
export async function schemaErrors(object: KubernetesObject): Promise<string[]> {
  const { apiVersion, kind } = object;
  const karpenter = karpenterValidator(apiVersion, kind);
  if (karpenter) {
    return karpenter(object)
      ? []
      : (karpenter.errors ?? []).map(
          (error) => `${error.instancePath || "/"} ${error.message} ${JSON.stringify(error.params)}`,
        );
  }
  if (apiVersion.startsWith("karpenter.")) throw new Error(`no Karpenter CRD for ${apiVersion} ${kind}`);
  let Class: ModelClass;
  try {
    const loaded = (await import(modelModule(apiVersion, kind))) as Record<string, ModelClass>;
    Class = loaded[kind];
  } catch (error) {
    throw new Error(`no upstream schema for ${apiVersion} ${kind}: ${(error as Error).message}`);
  }
  try {
    new Class(object).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * Validates every Kubernetes object among a program's registrations (secrets revealed, as the API
 * server would see them): how many were validated, and the violations per `<type> <name>` of each
 * object that has any.
 */
export async function registeredObjectsSchemaErrors(
  registrations: ReadonlyArray<{ type: string; name: string; inputs: Record<string, unknown> }>,
): Promise<{ validated: number; errors: Record<string, string[]> }> {
  const objects = registrations.filter((registration) => isKubernetesType(registration.type));
  const errors: Record<string, string[]> = {};
  for (const registration of objects) {
    const found = await schemaErrors(reveal(registration.inputs) as KubernetesObject);
    if (found.length > 0) errors[`${registration.type} ${registration.name}`] = found;
  }
  return { validated: objects.length, errors };
}
