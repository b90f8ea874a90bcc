/**
 * The pipeline's gates, as checks over the parsed workflows. Each gate returns one readable line per
 * violation (empty when the gate holds), so a test can assert both that the real pipeline passes and
 * that a mutated copy fails.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  commandOf,
  environmentOf,
  expandStack,
  type Job,
  matrixValues,
  type Pipeline,
  type Step,
  upstreamJobs,
  type WorkflowFile,
} from "./pipeline";

export const policyPackPath = "policies";
/** Where PR previews find the pack as the base branch has it (a worktree of the base commit). */
export const baseGatePath = `.gate/${policyPackPath}`;
export const policyPackConfig = (stack: string, pack = policyPackPath) => `${pack}/config/${stack}.json`;

export interface PulumiOperation {
  file: WorkflowFile;
  jobId: string;
  job: Job;
  step: Step;
  via: "action" | "cli";
  /** preview, up, destroy, …; `install` for pulumi/actions without a command (it only installs the CLI). */
  command: string;
  /** The stacks it runs on; empty when the workflow does not say so literally (or through the matrix). */
  stacks: string[];
  policyPacks: string[];
  /** `--policy-pack-config` files, with the matrix stack (or a shell `$stack`) written as `<stack>`. */
  policyPackConfigs: string[];
  refresh: boolean;
  expectNoChanges: boolean;
  /** Sets stack config outside git (`config-map`, `--config`). */
  overridesConfig: boolean;
}

const pulumiAction = /^pulumi\/actions@/;
const isTrue = (value: unknown) => value === true || value === "true";
const lines = (value: unknown) =>
  String(value ?? "")
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter(Boolean);

function* jobsOf(pipeline: Pipeline) {
  for (const file of pipeline.workflows) {
    for (const [jobId, job] of Object.entries(file.workflow.jobs ?? {})) yield { file, jobId, job };
  }
}

function* stepsOf(pipeline: Pipeline) {
  for (const { file, jobId, job } of jobsOf(pipeline)) {
    for (const step of job.steps ?? []) yield { file, jobId, job, step };
  }
}

const where = (file: WorkflowFile, jobId: string) => `${file.path} job ${jobId}`;

/** Every Pulumi command the pipeline runs, through pulumi/actions or the CLI in a `run:` step. */
export function pulumiOperations(pipeline: Pipeline): PulumiOperation[] {
  const operations: PulumiOperation[] = [];
  for (const { file, jobId, job, step } of stepsOf(pipeline)) {
    if (step.uses && pulumiAction.test(step.uses)) {
      const inputs = step.with ?? {};
      operations.push({
        file,
        jobId,
        job,
        step,
        via: "action",
        command: String(inputs.command ?? "install"),
        stacks: expandStack(inputs["stack-name"], job),
        policyPacks: lines(inputs.policyPacks),
        policyPackConfigs: lines(inputs.policyPackConfigs).map((path) =>
          path.replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, "<stack>"),
        ),
        refresh: isTrue(inputs.refresh),
        expectNoChanges: isTrue(inputs["expect-no-changes"]),
        overridesConfig: inputs["config-map"] !== undefined,
      });
    }
    // `pulumi` in command position: a line start, after `;`, `&&`, `|`, `(`, `then`, `do` or `!`.
    const invocations = /(?:^|[;&|(!]|\bthen|\bdo)[ \t]*pulumi[ \t]+([a-z]+)\b([^\n]*)/gm;
    for (const match of commandOf(step, pipeline).matchAll(invocations)) {
      const [, command = "", flags = ""] = match;
      if (["version", "login", "whoami", "about"].includes(command)) continue;
      const stack = /--stack[\s=]+("?)([\w.-]+)\1(\s|$)/.exec(flags)?.[2];
      operations.push({
        file,
        jobId,
        job,
        step,
        via: "cli",
        command: command === "config" && /^\s*set\b/.test(flags) ? "config set" : command,
        // A stack given through a variable is the job's matrix stack.
        stacks: stack ? [stack] : matrixValues(job, "stack"),
        policyPacks: [...flags.matchAll(/--policy-pack[\s=]+"?([\w./-]+)"?/g)].map(([, pack]) => pack ?? ""),
        policyPackConfigs: [...flags.matchAll(/--policy-pack-config[\s=]+"?([^\s"]+)"?/g)].map(([, path]) =>
          (path ?? "").replace(/\$\{?(stack|STACK)\}?/g, "<stack>"),
        ),
        refresh: /--refresh\b/.test(flags),
        expectNoChanges: /--expect-no-changes\b/.test(flags),
        overridesConfig: /(\s--config\b|\s-c\s|--config-file\b)/.test(` ${flags}`),
      });
    }
  }
  return operations;
}

const previewOrUp = (operation: PulumiOperation) => ["preview", "up", "update"].includes(operation.command);
const isUp = (operation: PulumiOperation) => ["up", "update"].includes(operation.command);

/** `uses:` is a local action or `owner/repo@<40-hex commit>  # v<version>`. */
export function actionsPinned(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  const texts = [...pipeline.workflows, ...pipeline.actions];
  for (const { path, text } of texts) {
    text.split("\n").forEach((line, index) => {
      const match = /^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?\s*(#.*)?$/.exec(line);
      if (!match) return;
      const [, ref = "", comment = ""] = match;
      const at = `${path}:${index + 1}`;
      if (ref.startsWith("./")) {
        if (!existsSync(join(pipeline.root, ref, "action.yml")))
          violations.push(`${at}: ${ref}/action.yml does not exist`);
        return;
      }
      if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref)) {
        violations.push(`${at}: ${ref} is not pinned to a full commit SHA`);
      } else if (!/^#\s*v\d+(\.\d+)*\b/.test(comment)) {
        violations.push(`${at}: ${ref} has no "# vX.Y.Z" comment naming the release it pins`);
      }
    });
  }
  return violations;
}

/** Only previews and ups (no destroy, no stand-alone refresh, no config set) run against a stack. */
export function onlyPreviewAndUp(pipeline: Pipeline): string[] {
  return pulumiOperations(pipeline)
    .filter((operation) => !previewOrUp(operation) && operation.command !== "install")
    .map(
      ({ file, jobId, command }) =>
        `${where(file, jobId)}: runs "pulumi ${command}"; the pipeline only previews and ups`,
    );
}

/**
 * The CrossGuard pack gates every preview and every up, with the pack config of the stack it runs on:
 * the repository's `policies/`, or (PR previews) the base branch's copy of it under `.gate/`.
 */
export function policyPackOnEveryPreviewAndUp(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const operation of pulumiOperations(pipeline).filter(previewOrUp)) {
    const { file, jobId, command, via, stacks, policyPackConfigs } = operation;
    const at = `${where(file, jobId)}: ${command} (${via})`;
    const pack = [policyPackPath, baseGatePath].find((path) => operation.policyPacks.includes(path));
    if (!pack) {
      violations.push(`${at} runs without the policy pack "${policyPackPath}"`);
      continue;
    }
    for (const stack of stacks) {
      const config = policyPackConfig(stack, pack);
      const given = policyPackConfigs.map((path) => path.replace("<stack>", stack));
      if (!given.includes(config))
        violations.push(`${at} on ${stack} runs without the pack config ${config}`);
      if (!existsSync(join(pipeline.root, policyPackConfig(stack))))
        violations.push(`${at} on ${stack}: ${policyPackConfig(stack)} does not exist`);
    }
  }
  return violations;
}

/** An up names one stack literally, so the environment and concurrency gates can check it. */
export function upsNameTheirStack(pipeline: Pipeline): string[] {
  return pulumiOperations(pipeline)
    .filter((operation) => isUp(operation) && (operation.via !== "action" || operation.stacks.length !== 1))
    .map(
      ({ file, jobId, via }) =>
        `${where(file, jobId)}: an up must run through pulumi/actions with one literal stack-name (found: ${via})`,
    );
}

/** An up runs in the GitHub environment named like its stack: prod is behind its required reviewers. */
export function upsUseTheirEnvironment(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const { file, jobId, job, stacks } of pulumiOperations(pipeline).filter(isUp)) {
    for (const stack of stacks) {
      if (environmentOf(job) !== stack) {
        violations.push(
          `${where(file, jobId)}: up on ${stack} runs in environment ${environmentOf(job) ?? "(none)"}, expected ${stack}`,
        );
      }
    }
  }
  return violations;
}

/** prod is updated only after dev, in the same run. */
export function devBeforeProd(pipeline: Pipeline): string[] {
  const ups = pulumiOperations(pipeline).filter(isUp);
  const violations: string[] = [];
  for (const up of ups.filter(({ stacks }) => stacks.includes("prod"))) {
    const before = upstreamJobs(up.file.workflow, up.jobId);
    const devFirst = ups.some(
      (other) => other.file === up.file && other.stacks.includes("dev") && before.has(other.jobId),
    );
    if (!devFirst) violations.push(`${where(up.file, up.jobId)}: up on prod does not wait for an up on dev`);
  }
  return violations;
}

/** `pulumi-stack-${{ matrix.stack }}` → the group each of the job's matrix stacks gets. */
function groupsByStack(group: string, job: Job): Map<string, string> {
  const byStack = new Map<string, string>();
  const matrix = /\$\{\{\s*matrix\.stack\s*\}\}/;
  if (matrix.test(group)) {
    for (const stack of matrixValues(job, "stack")) byStack.set(stack, group.replace(matrix, stack));
  }
  return byStack;
}

/** The workflow runs for pull requests (its jobs run a PR's code). */
export const runsForPullRequests = (file: WorkflowFile) =>
  "pull_request" in (file.workflow.on ?? {}) || "pull_request_target" in (file.workflow.on ?? {});

/**
 * One concurrency group per stack, shared by every job that plans, ups or drift-checks it (deploy and
 * drift never overlap on a stack), never cancelled mid-operation. PR previews do not lock a stack.
 */
export function oneConcurrencyGroupPerStack(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  const groupOfStack = new Map<string, { group: string; at: string }>();
  const operations = pulumiOperations(pipeline).filter(
    (operation) => previewOrUp(operation) && !runsForPullRequests(operation.file),
  );
  for (const { file, jobId, job, stacks, command } of operations) {
    const concurrency = job.concurrency;
    const group = typeof concurrency === "string" ? concurrency : concurrency?.group;
    const at = where(file, jobId);
    if (!group || typeof concurrency === "string" || concurrency?.["cancel-in-progress"] !== false) {
      violations.push(`${at}: its ${command} needs a job concurrency group with cancel-in-progress: false`);
      continue;
    }
    const perStack = groupsByStack(group, job);
    for (const stack of stacks) {
      const resolved = perStack.get(stack) ?? group;
      if (!resolved.includes(stack))
        violations.push(`${at}: concurrency group "${resolved}" does not name stack ${stack}`);
      const known = groupOfStack.get(stack);
      if (known && known.group !== resolved) {
        violations.push(
          `${at}: stack ${stack} is locked under two concurrency groups: ${known.group} (${known.at}), ${resolved}`,
        );
      }
      groupOfStack.set(stack, { group: resolved, at });
    }
  }
  const stacksByGroup = new Map<string, string[]>();
  for (const [stack, { group }] of groupOfStack)
    stacksByGroup.set(group, [...(stacksByGroup.get(group) ?? []), stack]);
  for (const [group, stacks] of stacksByGroup) {
    if (stacks.length > 1)
      violations.push(`concurrency group "${group}" is shared by stacks ${stacks.join(", ")}`);
  }
  return violations;
}

/**
 * A new image tag reaches a stack only as a pull request: nothing pushes to main, every pushed
 * branch becomes a PR, the stack config is edited only in a job that opens one, no workflow merges
 * PRs or sets stack config outside git.
 */
export function imageTagsOnlyThroughPullRequests(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const { file, jobId, job } of jobsOf(pipeline)) {
    const at = where(file, jobId);
    const commands = (job.steps ?? []).map((step) => commandOf(step, pipeline)).join("\n");
    const opensPullRequest = /\bgh pr create\b/.test(commands);
    for (const [push] of commands.matchAll(/\bgit push\b[^\n]*/g)) {
      const branch = /\bHEAD:refs\/heads\/([^\s"']+)/.exec(push)?.[1];
      if (!branch || /^(main|master)$/.test(branch)) {
        violations.push(`${at}: "${push.trim()}" does not push HEAD to a named non-default branch`);
      }
      if (!opensPullRequest) violations.push(`${at}: pushes a branch but opens no pull request for it`);
    }
    if (/\bgit commit\b/.test(commands) && !opensPullRequest) {
      violations.push(`${at}: commits without opening a pull request`);
    }
    if (/set-image-tag|\b(sed -i|yq -i|tee)\b[^\n]*Pulumi\./.test(commands) && !opensPullRequest) {
      violations.push(`${at}: edits stack config in a job that opens no pull request`);
    }
    if (/\bgh pr merge\b|\bgh api\b[^\n]*\/merge\b/.test(commands)) {
      violations.push(`${at}: merges a pull request; merging is the reviewer's decision`);
    }
  }
  for (const { file, jobId, command, overridesConfig } of pulumiOperations(pipeline)) {
    if (command === "config set" || overridesConfig) {
      violations.push(`${where(file, jobId)}: sets stack config outside git`);
    }
  }
  return violations;
}

interface WriteUse {
  /** Why the scope is granted, for the failure message. */
  purpose: string;
  usedBy: (step: Step, pipeline: Pipeline) => boolean;
}

/** Each write scope a job may hold, and the kind of step that needs it. Anything else is refused. */
export const writeUses: Record<string, WriteUse> = {
  "id-token": {
    purpose: "an OIDC token for AWS, Pulumi Cloud or keyless signing",
    usedBy: (step, pipeline) =>
      (/^aws-actions\/configure-aws-credentials@/.test(step.uses ?? "") && !!step.with?.["role-to-assume"]) ||
      /^pulumi\/auth-actions@/.test(step.uses ?? "") ||
      /\bcosign sign\b/.test(commandOf(step, pipeline)),
  },
  "pull-requests": {
    purpose: "commenting on or opening pull requests",
    usedBy: (step, pipeline) =>
      (pulumiAction.test(step.uses ?? "") && isTrue(step.with?.["comment-on-pr"])) ||
      /\bgh pr (create|close|comment|edit)\b/.test(commandOf(step, pipeline)),
  },
  issues: {
    purpose: "opening or updating issues",
    usedBy: (step, pipeline) => /\bgh (issue|label) [a-z]+/.test(commandOf(step, pipeline)),
  },
  contents: {
    purpose: "pushing a branch",
    usedBy: (step, pipeline) => /\bgit push\b/.test(commandOf(step, pipeline)),
  },
  actions: {
    purpose: "dispatching workflows",
    usedBy: (step, pipeline) => /\bgh workflow run\b/.test(commandOf(step, pipeline)),
  },
};

/** Permissions are granted per job, read-only by default, and every write is used by a step of that job. */
export function leastPrivilege(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const { path, workflow } of pipeline.workflows) {
    const top = workflow.permissions;
    if (
      top === undefined ||
      typeof top === "string" ||
      Object.values(top).some((level) => level === "write")
    ) {
      violations.push(`${path}: workflow-level permissions must be {} or read-only (grant writes per job)`);
    }
  }
  for (const { file, jobId, job } of jobsOf(pipeline)) {
    const at = where(file, jobId);
    const permissions = job.permissions;
    if (permissions === undefined || typeof permissions === "string") {
      violations.push(`${at}: declares no permissions map (or uses ${String(permissions)})`);
      continue;
    }
    for (const [scope, level] of Object.entries(permissions)) {
      if (!["read", "write", "none"].includes(level))
        violations.push(`${at}: ${scope}: ${level} is not read/write/none`);
      if (level !== "write") continue;
      const use = writeUses[scope];
      if (!use) {
        violations.push(`${at}: ${scope}: write is not needed by any pipeline step`);
      } else if (!(job.steps ?? []).some((step) => use.usedBy(step, pipeline))) {
        violations.push(`${at}: ${scope}: write is granted (${use.purpose}) but no step of the job uses it`);
      }
    }
  }
  return violations;
}

/** A name that holds a credential (`requested-token-type`, `token-expiration` only describe one). */
const credentialName = /(^|[_-])(TOKEN|SECRET|PASSWORD|ACCESS_KEY|API_KEY)$/i;
const fromSecretsOrGithubToken = /^\$\{\{\s*(secrets\.[A-Z0-9_]+|github\.token)\s*\}\}$/;

/**
 * Credentials come from GitHub secrets (or the workflow token) and AWS OIDC only: no access keys,
 * no literal tokens, no pull_request_target (which hands a PR's code a write token and the secrets).
 */
export function credentialsOnlyFromSecretsAndOidc(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const { path, text, workflow } of pipeline.workflows) {
    if ("pull_request_target" in (workflow.on ?? {})) violations.push(`${path}: runs on pull_request_target`);
    if (/AKIA[0-9A-Z]{16}|pul-[0-9a-f]{40}|gh[pousr]_[A-Za-z0-9]{36}/.test(text)) {
      violations.push(`${path}: contains what looks like a literal credential`);
    }
  }
  for (const { file, jobId, step } of stepsOf(pipeline)) {
    const values = { ...step.with, ...step.env };
    for (const [name, value] of Object.entries(values)) {
      if (/^(aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)$/.test(name)) {
        violations.push(`${where(file, jobId)}: passes ${name}; AWS access goes through OIDC roles`);
      } else if (credentialName.test(name) && !fromSecretsOrGithubToken.test(String(value).trim())) {
        violations.push(`${where(file, jobId)}: ${name} is not taken from secrets.* or github.token`);
      }
    }
  }
  return violations;
}

/** No checkout leaves the workflow token in .git/config for later steps (npm scripts included) to read. */
export function checkoutsDropCredentials(pipeline: Pipeline): string[] {
  const violations: string[] = [];
  for (const { file, jobId, step } of stepsOf(pipeline)) {
    if (
      /^actions\/checkout@/.test(step.uses ?? "") &&
      String(step.with?.["persist-credentials"]) !== "false"
    ) {
      violations.push(`${where(file, jobId)}: checkout without persist-credentials: false`);
    }
  }
  return violations;
}

/** pulumi/actions installs the CLI version the program's SDK was released with. */
export function pulumiCliMatchesSdk(pipeline: Pipeline, sdkVersion: string): string[] {
  return pulumiOperations(pipeline)
    .filter(({ via, step }) => via === "action" && String(step.with?.["pulumi-version"]) !== sdkVersion)
    .map(
      ({ file, jobId, step }) =>
        `${where(file, jobId)}: pulumi-version ${String(step.with?.["pulumi-version"])} is not the SDK's ${sdkVersion}`,
    );
}

export const gates = {
  actionsPinned,
  onlyPreviewAndUp,
  policyPackOnEveryPreviewAndUp,
  upsNameTheirStack,
  upsUseTheirEnvironment,
  devBeforeProd,
  oneConcurrencyGroupPerStack,
  imageTagsOnlyThroughPullRequests,
  leastPrivilege,
  checkoutsDropCredentials,
  credentialsOnlyFromSecretsAndOidc,
} satisfies Record<string, (pipeline: Pipeline) => string[]>;
