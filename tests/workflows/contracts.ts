/**
 * What each workflow must do, as checks returning one line per violation, like the gates.
 */
import { stackNames } from "../../contracts/stacks";
import { pulumiOperations } from "./gates";
import { commandOf, type Job, type Pipeline, upstreamJobs, type Workflow, workflowNamed } from "./pipeline";

const allStacks = [...stackNames].sort();

function commandsOf(job: Job, pipeline: Pipeline): string {
  return (job.steps ?? []).map((step) => commandOf(step, pipeline)).join("\n");
}

/** The jobs of `workflow` whose commands match `pattern`. */
function jobsRunning(workflow: Workflow, pipeline: Pipeline, pattern: RegExp): string[] {
  return Object.entries(workflow.jobs).flatMap(([id, job]) =>
    pattern.test(commandsOf(job, pipeline)) ? [id] : [],
  );
}

function sameStacks(label: string, found: Iterable<string>): string[] {
  const sorted = [...new Set(found)].sort();
  return sorted.join() === allStacks.join()
    ? []
    : [`${label} covers [${sorted}], expected every stack [${allStacks}]`];
}

function trigger(workflow: Workflow, event: string): Record<string, unknown> | undefined {
  const on = workflow.on as Record<string, unknown> | undefined;
  if (!on || !(event in on)) return undefined;
  return (on[event] ?? {}) as Record<string, unknown>;
}

export const infraPaths = [
  "infra/**",
  "policies/**",
  "observability/**",
  "app/src/telemetry/**",
  "Pulumi.yaml",
  "Pulumi.*.yaml",
  "package.json",
  "package-lock.json",
  ".node-version",
];

function missingPaths(label: string, paths: unknown, required: string[]): string[] {
  const given = Array.isArray(paths) ? paths.map(String) : [];
  return required
    .filter((path) => !given.includes(path))
    .map((path) => `${label} is not triggered by ${path}`);
}

/**
 * ci.yml: on every PR (unfiltered: its checks are required) and on pushes to main only (a PR's branch
 * pushes are its pull_request run: CI runs once per PR change), npm test, the offline plan per stack,
 * the rendered artifacts, actionlint.
 */
export function ciContract(pipeline: Pipeline): string[] {
  const ci = workflowNamed(pipeline, "ci.yml");
  const violations: string[] = [];
  const pr = trigger(ci, "pull_request");
  if (!pr || pr.branches || pr.paths || pr["paths-ignore"] || pr["branches-ignore"])
    violations.push("ci.yml does not run on every pull_request");
  const push = trigger(ci, "push");
  if (!push || JSON.stringify(push.branches) !== JSON.stringify(["main"]) || push.paths)
    violations.push(
      "ci.yml must run on every push to main, and on no other push (a PR's pushes run as pull_request)",
    );
  if (jobsRunning(ci, pipeline, /^npm test$/m).length === 0) violations.push("ci.yml does not run npm test");
  const planStacks = Object.values(ci.jobs).flatMap((job) =>
    /npm run plan -- --stack "\$\{\{ matrix\.stack \}\}"/.test(commandsOf(job, pipeline))
      ? ((job.strategy?.matrix?.stack as string[] | undefined) ?? [])
      : [],
  );
  violations.push(...sameStacks("ci.yml's offline plan", planStacks));
  const renders = Object.values(ci.jobs).some(
    (job) =>
      /npm run render/.test(commandsOf(job, pipeline)) &&
      (job.steps ?? []).some(
        (step) =>
          step.uses?.startsWith("actions/upload-artifact@") && step.with?.path === "dist/observability/",
      ),
  );
  if (!renders) violations.push("ci.yml does not render and upload dist/observability/");
  if (jobsRunning(ci, pipeline, /lint-workflows\.ts/).length === 0)
    violations.push("ci.yml does not run actionlint");
  return violations;
}

/** preview.yml: every PR gets a policy-gated preview per stack, commented on the PR. */
export function previewContract(pipeline: Pipeline): string[] {
  const preview = workflowNamed(pipeline, "preview.yml");
  const violations: string[] = [];
  const pr = trigger(preview, "pull_request");
  if (!pr || pr.branches || pr.paths || pr["paths-ignore"] || pr["branches-ignore"])
    violations.push("preview.yml does not run on every pull_request (its checks are required)");
  const previews = pulumiOperations(pipeline).filter(
    (operation) => operation.file.workflow === preview && operation.command === "preview",
  );
  violations.push(
    ...sameStacks(
      "preview.yml",
      previews.flatMap(({ stacks }) => stacks),
    ),
  );
  for (const { jobId, step } of previews) {
    const inputs = step.with ?? {};
    if (String(inputs["comment-on-pr"]) !== "true")
      violations.push(`preview.yml job ${jobId} does not comment on the PR`);
  }
  return violations;
}

const mainOnly = /^\$\{\{\s*github\.ref == 'refs\/heads\/main'\s*\}\}$/;

/** The job, or a job it waits for, runs only for main (a manual run from a branch is skipped). */
function onlyFromMain(workflow: Workflow, jobId: string): boolean {
  return [jobId, ...upstreamJobs(workflow, jobId)].some((id) => mainOnly.test(workflow.jobs[id]?.if ?? ""));
}

/** deploy.yml: pushes to main (only) that change a stack's inputs are applied to every stack. */
export function deployContract(pipeline: Pipeline): string[] {
  const deploy = workflowNamed(pipeline, "deploy.yml");
  const push = trigger(deploy, "push");
  const violations: string[] = [];
  if (!push || JSON.stringify(push.branches) !== JSON.stringify(["main"])) {
    violations.push("deploy.yml must run on pushes to main, and only main");
  }
  if (trigger(deploy, "pull_request") || trigger(deploy, "pull_request_target")) {
    violations.push("deploy.yml must not run for pull requests");
  }
  violations.push(...missingPaths("deploy.yml", push?.paths, infraPaths));
  const ups = pulumiOperations(pipeline).filter(
    (operation) => operation.file.workflow === deploy && operation.command === "up",
  );
  violations.push(
    ...sameStacks(
      "deploy.yml",
      ups.flatMap(({ stacks }) => stacks),
    ),
  );
  for (const { jobId } of ups) {
    if (!onlyFromMain(deploy, jobId))
      violations.push(`deploy.yml job ${jobId} can run from a branch other than main`);
  }
  return violations;
}

/** app-release.yml: app changes are tested, built, pushed, then proposed as a PR, in that order. */
export function appReleaseContract(pipeline: Pipeline): string[] {
  const release = workflowNamed(pipeline, "app-release.yml");
  const violations = missingPaths("app-release.yml", trigger(release, "push")?.paths, ["app/**"]);
  const tests = jobsRunning(release, pipeline, /^npm test$/m);
  const pushes = jobsRunning(release, pipeline, /\bdocker push\b/);
  const proposals = jobsRunning(release, pipeline, /\bgh pr create\b/);
  if (tests.length === 0 || pushes.length === 0 || proposals.length === 0) {
    return [...violations, "app-release.yml must test, push the image and open a PR"];
  }
  for (const push of pushes) {
    if (!tests.some((test) => upstreamJobs(release, push).has(test))) {
      violations.push(`app-release.yml job ${push} pushes an image before npm test passed`);
    }
  }
  for (const proposal of proposals) {
    if (!pushes.some((push) => upstreamJobs(release, proposal).has(push))) {
      violations.push(`app-release.yml job ${proposal} opens the PR before the image is pushed`);
    }
  }
  for (const push of pushes) {
    if (!onlyFromMain(release, push))
      violations.push(`app-release.yml job ${push} can release from a branch`);
  }
  const commands = Object.values(release.jobs)
    .map((job) => commandsOf(job, pipeline))
    .join("\n");
  for (const line of commands
    .split("\n")
    .filter((text) => /\.github\/scripts\/(set-image-tag\.ts|push-image\.sh)\b|^\s*configs=\(/.test(text))) {
    violations.push(
      ...sameStacks(
        `app-release.yml's "${line.trim()}"`,
        [...line.matchAll(/Pulumi\.(\w+)\.yaml/g)].map(([, stack]) => stack ?? ""),
      ),
    );
  }
  const pushJob = release.jobs[pushes[0] ?? ""];
  const oidc = (pushJob?.steps ?? []).some((step) =>
    step.uses?.startsWith("aws-actions/configure-aws-credentials@"),
  );
  const keys = /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id/.test(JSON.stringify(release));
  if (!oidc || keys) violations.push("app-release.yml must reach ECR through AWS OIDC, without access keys");
  return violations;
}

/** drift.yml: nightly preview --refresh --expect-no-changes per stack; drift opens or updates an issue. */
export function driftContract(pipeline: Pipeline): string[] {
  const drift = workflowNamed(pipeline, "drift.yml");
  const violations: string[] = [];
  const schedule = trigger(drift, "schedule") as unknown;
  if (!Array.isArray(schedule) || schedule.length === 0) violations.push("drift.yml has no schedule");
  const checks = pulumiOperations(pipeline).filter(
    (operation) =>
      operation.file.workflow === drift &&
      operation.command === "preview" &&
      operation.refresh &&
      operation.expectNoChanges,
  );
  violations.push(
    ...sameStacks(
      "drift.yml's preview --refresh --expect-no-changes",
      checks.flatMap((c) => c.stacks),
    ),
  );
  const reporters = jobsRunning(drift, pipeline, /\bgh issue (create|comment)\b/);
  if (reporters.length === 0) violations.push("drift.yml opens no issue on drift");
  for (const id of reporters) {
    const job = drift.jobs[id] as Job;
    const afterChecks = checks.every((check) => upstreamJobs(drift, id).has(check.jobId));
    if (!afterChecks || !/!cancelled\(\)|always\(\)/.test(job.if ?? "")) {
      violations.push(`drift.yml job ${id} must run after the checks, also when they fail`);
    }
  }
  return violations;
}

export const contracts = {
  ciContract,
  previewContract,
  deployContract,
  appReleaseContract,
  driftContract,
} satisfies Record<string, (pipeline: Pipeline) => string[]>;
