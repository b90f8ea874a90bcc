/**
 * The GitOps pipeline as data: every workflow and composite action under .github/, parsed, plus the
 * scripts their `run:` steps call (a gate that reads a step reads the script too).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export type Permissions = string | Record<string, string>;

export interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

export interface Job {
  name?: string;
  "runs-on"?: string | string[] | { group?: string; labels?: string | string[] };
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string; url?: string };
  concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
  permissions?: Permissions;
  strategy?: { matrix?: Record<string, unknown> };
  outputs?: Record<string, string>;
  steps?: Step[];
  uses?: string;
}

export interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: Permissions;
  concurrency?: Job["concurrency"];
  jobs: Record<string, Job>;
}

export interface WorkflowFile {
  path: string;
  text: string;
  workflow: Workflow;
}

export interface Pipeline {
  root: string;
  workflows: WorkflowFile[];
  /** Composite actions (`.github/actions/<name>/action.yml`): raw text, for the pinning gate. */
  actions: Array<{ path: string; text: string }>;
  /** `.github/scripts/*` by path, so gates can follow `run: .github/scripts/x.sh`. */
  scripts: Map<string, string>;
}

function filesIn(root: string, dir: string, pattern: RegExp): string[] {
  const absolute = join(root, dir);
  if (!existsSync(absolute)) return [];
  return readdirSync(absolute)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export function loadPipeline(root = "."): Pipeline {
  const read = (path: string) => readFileSync(join(root, path), "utf8");
  const workflows = filesIn(root, ".github/workflows", /\.ya?ml$/).map((path) => {
    const text = read(path);
    return { path, text, workflow: parse(text) as Workflow };
  });
  const actions = readdirSync(join(root, ".github/actions"))
    .map((name) => join(".github/actions", name, "action.yml"))
    .filter((path) => existsSync(join(root, path)))
    .map((path) => ({ path, text: read(path) }));
  const scripts = new Map(filesIn(root, ".github/scripts", /\.(sh|ts)$/).map((path) => [path, read(path)]));
  return { root, workflows, actions, scripts };
}

/** A deep copy whose workflows can be mutated freely (to prove a gate fails). */
export function clonePipeline(pipeline: Pipeline): Pipeline {
  return {
    ...pipeline,
    workflows: pipeline.workflows.map((file) => ({ ...file, workflow: structuredClone(file.workflow) })),
    actions: pipeline.actions.map((action) => ({ ...action })),
    scripts: new Map(pipeline.scripts),
  };
}

export function workflowNamed(pipeline: Pipeline, file: string): Workflow {
  const found = pipeline.workflows.find(({ path }) => path.endsWith(`/${file}`));
  if (!found) throw new Error(`no workflow ${file} in .github/workflows`);
  return found.workflow;
}

/** What a step executes: its `run:` script with every `.github/scripts/*` it calls inlined. */
export function commandOf(step: Step, pipeline: Pipeline): string {
  const run = step.run ?? "";
  const called = [...run.matchAll(/\.github\/scripts\/[\w.-]+/g)].map(
    ([path]) => pipeline.scripts.get(path) ?? "",
  );
  // Comment lines dropped and shell line continuations joined, so one command is one line.
  return [run, ...called]
    .join("\n")
    .replace(/^\s*(#|\/\/|\/?\*).*$/gm, "")
    .replace(/\\\n\s*/g, " ");
}

export function needsOf(job: Job): string[] {
  if (job.needs === undefined) return [];
  return Array.isArray(job.needs) ? job.needs : [job.needs];
}

/** Every job `jobId` waits for, directly or through other jobs. */
export function upstreamJobs(workflow: Workflow, jobId: string): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string) => {
    for (const need of needsOf(workflow.jobs[id] ?? {})) {
      if (!seen.has(need)) {
        seen.add(need);
        visit(need);
      }
    }
  };
  visit(jobId);
  return seen;
}

export function environmentOf(job: Job): string | undefined {
  return typeof job.environment === "string" ? job.environment : job.environment?.name;
}

/** `${{ body }}`, spelled so that linters do not take it for a JS template placeholder. */
export function ghExpression(body: string): string {
  return "$" + `{{ ${body} }}`;
}

export function matrixValues(job: Job, key: string): string[] {
  const values = job.strategy?.matrix?.[key];
  return Array.isArray(values) ? values.map(String) : [];
}

/** A string with `${{ matrix.<key> }}` replaced by each of the job's matrix values (or itself). */
export function expandMatrix(text: string, job: Job): string[] {
  const match = /\$\{\{\s*matrix\.([\w-]+)\s*\}\}/.exec(text);
  if (!match?.[1]) return [text];
  return matrixValues(job, match[1]).flatMap((value) => expandMatrix(text.replace(match[0], value), job));
}

/** `${{ matrix.stack }}` → the job's matrix values; a literal → itself; any other expression → []. */
export function expandStack(value: unknown, job: Job): string[] {
  const text = String(value ?? "").trim();
  const matrix = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(text);
  if (matrix?.[1]) return matrixValues(job, matrix[1]);
  return text.includes("${{") || text === "" ? [] : [text];
}
