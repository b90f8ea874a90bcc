/**
 * Resource property values as captured from the Pulumi mock monitor, turned into what a policy
 * sees (secrets unwrapped, unknowns as the policy SDK's sentinel) or what a report may print
 * (secrets redacted).
 */
import { isUnknown } from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey, unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const redacted = "[secret]";

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[specialSigKey] === specialSecretSig
  );
}

/** Whether a value holds a Pulumi secret anywhere inside it. */
export function containsSecret(value: unknown): boolean {
  if (isSecretEnvelope(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (isPlainObject(value)) return Object.values(value).some(containsSecret);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function mapValue(value: unknown, onSecret: (inner: unknown) => unknown): unknown {
  if (isUnknown(value)) return unknownValue;
  if (isSecretEnvelope(value)) return onSecret(value.value);
  if (Array.isArray(value)) return value.map((v) => mapValue(v, onSecret));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapValue(v, onSecret)]));
  }
  return value;
}

/**
 * What the policy engine hands a policy: secrets unwrapped to plain JSON (as
 * @pulumi/policy's deserializer does), unknown values as the string sentinel its proxy detects.
 */
export function toPolicyProps(value: Record<string, unknown>): Record<string, unknown> {
  const unwrap = (inner: unknown): unknown => mapValue(inner, unwrap);
  return mapValue(value, unwrap) as Record<string, unknown>;
}

/** A copy safe to print or write: every secret replaced by "[secret]", unknowns by "[unknown]". */
export function redactSecrets(value: unknown): unknown {
  const mapped = mapValue(value, () => redacted);
  return JSON.parse(JSON.stringify(mapped, (_key, v) => (v === unknownValue ? "[unknown]" : v)));
}
