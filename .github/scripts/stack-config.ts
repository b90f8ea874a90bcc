/**
 * Reads and edits a stack's committed config (`Pulumi.<stack>.yaml`) for the app-release workflow.
 * Validation is infra/config.ts's own `parseStackConfig`: a tag the Pulumi program would reject
 * never reaches a pull request.
 */
import { basename } from "node:path";
import { parseDocument } from "yaml";
import { type StackName, stackNames } from "../../contracts/stacks";
import { bootstrapSecretKeys, parseStackConfig, type StackConfig } from "../../infra/config";

export const imageTagKey = "parley:imageTag";
export const imageDigestKey = "parley:imageDigest";

/** `Pulumi.prod.yaml` → `prod`; anything else is an error naming the file and the stacks allowed. */
export function stackOfConfigFile(path: string): StackName {
  const match = /^Pulumi\.([^.]+)\.yaml$/.exec(basename(path));
  const stack = match?.[1];
  if (!stack || !(stackNames as readonly string[]).includes(stack)) {
    throw new Error(
      `${path} is not a stack config file: expected Pulumi.<stack>.yaml with <stack> one of ${stackNames.join(", ")}`,
    );
  }
  return stack as StackName;
}

/**
 * The settings infra/config.ts reads (`parley:*` and `aws:region`), validated for `stack`. Secrets
 * typed in at bootstrap may not be in the file yet; they are assumed set here (as in the offline
 * plan) and the Pulumi program itself requires them at `up`.
 */
export function stackConfigOf(text: string, stack: StackName): StackConfig {
  const config = parseDocument(text).toJS()?.config ?? {};
  const raw: Record<string, unknown> = Object.fromEntries(
    bootstrapSecretKeys[stack].map((key) => [key, `assumed-set-at-bootstrap-${key}`]),
  );
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (key.startsWith("parley:") || key === "aws:region") raw[key] = value;
  }
  return parseStackConfig(raw, stack);
}

/**
 * Sets `parley:imageTag` and `parley:imageDigest` in a stack config file's text, keeping every other
 * line and comment as it was, and returns the new text. Throws (with infra/config.ts's message) if
 * the result is invalid.
 */
export function withImage(text: string, stack: StackName, tag: string, digest: string): string {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`Pulumi.${stack}.yaml is not valid YAML: ${document.errors[0]?.message}`);
  }
  document.setIn(["config", imageTagKey], tag);
  document.setIn(["config", imageDigestKey], digest);
  const updated = document.toString();
  stackConfigOf(updated, stack);
  return updated;
}
