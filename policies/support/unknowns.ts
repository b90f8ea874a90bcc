/**
 * During `pulumi preview` a value computed by another resource (an ARN, a generated name or token)
 * is unknown, and reading it from a policy's props throws. Rules that can decide without the value
 * (it is set; it names a resource the program declares) read it through these helpers instead of
 * giving up with "can't run policy during preview".
 */
import { UnknownValueError } from "@pulumi/policy";

export const unknown: unique symbol = Symbol("unknown");

/** The value `read()` returns, or `unknown` when it is only known after the update. */
export function readOrUnknown<T>(read: () => T): T | typeof unknown {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return unknown;
    throw error;
  }
}

/** Whether `read()` yields a non-empty value; an unknown value counts as set. */
export function isSet(read: () => unknown): boolean {
  const value = readOrUnknown(read);
  return value !== undefined && value !== null && value !== "" && value !== false;
}
