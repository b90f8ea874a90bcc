/**
 * The pipeline as a security boundary, as checks over the workflows, the scripts they run, the docs,
 * CODEOWNERS, Dependabot's config and the stacks' committed config. Each returns one readable line
 * per violation, like the gates, so a test can show the real repository passes and a mutated copy fails.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { stackNames } from "../../contracts/stacks";
import { cidrContains } from "../../infra/config";
import { verifiedReleases } from "./action-releases";
import { baseGatePath, policyPackPath, pulumiOperations, runsForPullRequests } from "./gates";
import {
  commandOf,
  environmentOf,
  expandMatrix,
  type Job,
  loadPipeline,
  type Pipeline,
  type Step,
  upstreamJobs,
  type WorkflowFile,
  workflowNamed,
} from "./pipeline";

/** Everything the boundary checks read, loaded once and cloned for mutations. */
export interface Repository {
  pipeline: Pipeline;
  deployingDoc: string;
  codeowners: string;
  dependabot: string;
  nodeVersion: string;
  /** `Pulumi.<stack>.yaml` texts by stack. */
  stackConfigs: Record<string, string>;
}

export function loadRepository(root = "."): Repository {
  const read = (path: string) => (existsSync(join(root, path)) ? readFileSync(join(root, path), "utf8") : "");
  return {
    pipeline: loadPipeline(root),
    deployingDoc: read("docs/deploying.md"),
    codeowners: read(".github/CODEOWNERS"),
    dependabot: read(".github/dependabot.yml"),
    nodeVersion: read(".node-version"),
    stackConfigs: Object.fromEntries(stackNames.map((stack) => [stack, read(`Pulumi.${stack}.yaml`)])),
  };
}

/** The runner group whose static egress addresses each stack admits (parley:pipelineEgressCidrs). */
export const pipelineRunnerGroup = "parley-pipeline";

interface JobAt {
  file: WorkflowFile;
  jobId: string;
  job: Job;
}

function* jobsOf(pipeline: Pipeline): Generator<JobAt> {
  for (const file of pipeline.workflows) {
    for (const [jobId, job] of Object.entries(file.workflow.jobs ?? {})) yield { file, jobId, job };
  }
}

const where = ({ file, jobId }: JobAt) => `${file.path} job ${jobId}`;
const permissionOf = (job: Job, scope: string) =>
  typeof job.permissions === "object" ? job.permissions[scope] : undefined;
const mintsTokens = (job: Job) => permissionOf(job, "id-token") === "write";
const uses = (step: Step, action: string) => (step.uses ?? "").startsWith(`${action}@`);
const commandsOf = (job: Job, pipeline: Pipeline) =>
  (job.steps ?? []).map((step) => commandOf(step, pipeline)).join("\n");
/** The GitHub environments a job runs in, one per matrix value. */
const environmentsOf = (job: Job) => {
  const environment = environmentOf(job);
  return environment ? expandMatrix(environment, job) : [];
};

/** The stacks a job runs Pulumi on, and whether it updates them. */
function pulumiWorkOf(pipeline: Pipeline, at: JobAt) {
  const operations = pulumiOperations(pipeline).filter(
    ({ file, jobId }) => file === at.file && jobId === at.jobId,
  );
  return {
    stacks: [...new Set(operations.flatMap(({ stacks }) => stacks))],
    updates: operations.some(({ command }) => ["up", "update"].includes(command)),
    runs: operations.some(({ command }) => ["preview", "up", "update"].includes(command)),
  };
}

/**
 * Every job that can mint an OIDC token runs in a GitHub environment, so its `sub` claim is
 * `repo:<owner>/<repo>:environment:<name>` (docs.github.com, OpenID Connect reference) and a trust
 * policy can name exactly the environment it trusts.
 */
export function tokensOnlyInEnvironments(repo: Repository): string[] {
  return [...jobsOf(repo.pipeline)]
    .filter(({ job }) => mintsTokens(job) && environmentsOf(job).length === 0)
    .map((at) => `${where(at)}: can mint OIDC tokens outside a GitHub environment`);
}

/**
 * A pull request's code runs only with credentials that cannot change anything: `<stack>-preview`
 * environments (read-only AWS role, EKS view access, read-only Cloudflare token), a Pulumi team token
 * with Stack Read, no up. No long-lived Pulumi token is reachable from any job.
 */
export function pullRequestsHoldReadOnlyCredentials(repo: Repository): string[] {
  const violations: string[] = [];
  for (const at of jobsOf(repo.pipeline)) {
    const { file, job } = at;
    for (const step of job.steps ?? []) {
      const values = { ...step.env, ...step.with };
      for (const [name, value] of Object.entries(values)) {
        if (/^PULUMI_ACCESS_TOKEN$/i.test(name) || /secrets\.PULUMI_ACCESS_TOKEN/.test(String(value))) {
          violations.push(
            `${where(at)}: passes a long-lived Pulumi token (${name}); tokens are minted by OIDC`,
          );
        }
        if (
          /CLOUDFLARE/.test(name) &&
          !/^\$\{\{\s*secrets\.CLOUDFLARE_API_TOKEN\s*\}\}$/.test(String(value))
        ) {
          violations.push(`${where(at)}: ${name} is not the environment's secrets.CLOUDFLARE_API_TOKEN`);
        }
      }
    }
    if (!runsForPullRequests(file)) continue;
    const { stacks, updates } = pulumiWorkOf(repo.pipeline, at);
    if (updates) violations.push(`${where(at)}: runs pulumi up for a pull request`);
    const environments = environmentsOf(job);
    const expected = stacks.map((stack) => `${stack}-preview`).sort();
    if (mintsTokens(job) && environments.sort().join() !== expected.join()) {
      violations.push(
        `${where(at)}: runs for pull requests in environments [${environments}], expected the preview environments [${expected}]`,
      );
    }
  }
  for (const [stack, text] of Object.entries(repo.stackConfigs)) {
    if (/^\s+cloudflare:apiToken:/m.test(text)) {
      violations.push(
        `Pulumi.${stack}.yaml holds cloudflare:apiToken: every job that previews ${stack} could decrypt it`,
      );
    }
  }
  return violations;
}

/**
 * Pulumi tokens are minted per job by OIDC for one stack's team: `parley-<stack>-deploy` (Stack Write)
 * only for the up of that stack in its own environment, `parley-<stack>-read` for everything else.
 */
export function pulumiTokensScopedPerStack(repo: Repository): string[] {
  const violations: string[] = [];
  for (const at of jobsOf(repo.pipeline)) {
    const { job } = at;
    const { stacks, updates, runs } = pulumiWorkOf(repo.pipeline, at);
    const steps = job.steps ?? [];
    const auth = steps.findIndex((step) => uses(step, "pulumi/auth-actions"));
    const firstPulumi = steps.findIndex(
      (step) =>
        (uses(step, "pulumi/actions") && step.with?.command !== undefined) ||
        /(^|\s)pulumi\s+(preview|up)\b/m.test(commandOf(step, repo.pipeline)),
    );
    if (!runs) continue;
    if (auth === -1 || auth > firstPulumi) {
      violations.push(`${where(at)}: runs Pulumi without a token minted by pulumi/auth-actions before it`);
      continue;
    }
    const inputs = steps[auth]?.with ?? {};
    if (inputs["requested-token-type"] !== "urn:pulumi:token-type:access_token:team") {
      violations.push(
        `${where(at)}: asks for a ${String(inputs["requested-token-type"])} token, not a team token`,
      );
    }
    const scopes = expandMatrix(String(inputs.scope ?? ""), job).sort();
    const expected = stacks.map((stack) => `team:parley-${stack}-${updates ? "deploy" : "read"}`).sort();
    if (scopes.join() !== expected.join()) {
      violations.push(`${where(at)}: asks for Pulumi scopes [${scopes}], expected [${expected}]`);
    }
    if (updates && environmentsOf(job).join() !== stacks.join()) {
      violations.push(`${where(at)}: a deploy token outside the environment of stack ${stacks.join(", ")}`);
    }
    if (Number(inputs["token-expiration"] ?? Number.POSITIVE_INFINITY) > 7200) {
      violations.push(`${where(at)}: Pulumi token lives longer than 2 hours`);
    }
  }
  return violations;
}

/**
 * The policy gate runs before any change: each up applies an update plan (`pulumi up --plan`) saved by
 * a policy-gated preview of the same stack in a job it waits for, which runs with read-only
 * credentials (`<stack>-plan`) and writes the preview to its summary, where prod's reviewers read it
 * before approving the up.
 */
export function gateRunsBeforeChange(repo: Repository): string[] {
  const violations: string[] = [];
  const operations = pulumiOperations(repo.pipeline);
  for (const up of operations.filter(({ command }) => ["up", "update"].includes(command))) {
    const at = `${up.file.path} job ${up.jobId}`;
    const plan = up.step.with?.plan;
    if (up.via !== "action" || typeof plan !== "string" || plan === "") {
      violations.push(`${at}: an up without --plan can do more than its gated preview showed`);
      continue;
    }
    const before = upstreamJobs(up.file.workflow, up.jobId);
    const planner = operations.find(
      (operation) =>
        operation.file === up.file &&
        before.has(operation.jobId) &&
        operation.command === "preview" &&
        operation.step.with?.plan === plan &&
        operation.policyPacks.includes(policyPackPath) &&
        operation.stacks.join() === up.stacks.join(),
    );
    if (!planner) {
      violations.push(`${at}: no earlier job previews ${up.stacks} with the policy pack and saves ${plan}`);
      continue;
    }
    const plannerSteps = planner.job.steps ?? [];
    const uploaded = plannerSteps.find(
      (step) => uses(step, "actions/upload-artifact") && step.with?.path === plan,
    );
    const downloaded = (up.job.steps ?? []).some(
      (step) => uses(step, "actions/download-artifact") && step.with?.name === uploaded?.with?.name,
    );
    if (!uploaded || !downloaded)
      violations.push(`${at}: does not apply the plan job ${planner.jobId} saved`);
    if (String(planner.step.with?.["comment-on-summary"]) !== "true") {
      violations.push(
        `${up.file.path} job ${planner.jobId}: the plan is not in the run summary for the approver`,
      );
    }
    const plannerEnvironments = environmentsOf(planner.job);
    const expected = up.stacks.map((stack) => `${stack}-plan`);
    if (plannerEnvironments.join() !== expected.join()) {
      violations.push(
        `${up.file.path} job ${planner.jobId}: plans in [${plannerEnvironments}], expected the read-only [${expected}] (before any approval)`,
      );
    }
  }
  return violations;
}

/**
 * A pull request cannot edit its own gate: PR previews run the base branch's policy pack (a worktree
 * of the base commit in `.gate/`), and CODEOWNERS gives the gate, the pipeline, the stack config and
 * the scaling policy to the platform team, whose review branch protection requires.
 */
export function pullRequestsCannotEditTheirGate(repo: Repository): string[] {
  const violations: string[] = [];
  for (const operation of pulumiOperations(repo.pipeline)) {
    if (!runsForPullRequests(operation.file) || operation.command !== "preview") continue;
    const at = `${operation.file.path} job ${operation.jobId}`;
    if (!operation.policyPacks.includes(baseGatePath)) {
      violations.push(
        `${at}: a PR preview runs the PR's own policy pack, not the base branch's ${baseGatePath}`,
      );
    }
    const steps = operation.job.steps ?? [];
    const gate = steps.findIndex(
      (step) =>
        /\bgit worktree add --detach \.gate "\$BASE_SHA"/.test(step.run ?? "") &&
        /^\$\{\{\s*steps\.changes\.outputs\.base-sha\s*\}\}$/.test(String(step.env?.BASE_SHA ?? "")),
    );
    if (gate === -1 || gate > steps.indexOf(operation.step)) {
      violations.push(`${at}: .gate is not checked out from the base commit before the preview`);
    }
  }
  const owners = repo.codeowners
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(/\s+/));
  for (const path of ["/policies/", "/.github/", "/Pulumi.yaml", "/Pulumi.*.yaml", "/infra/scaling/"]) {
    // The last matching line wins; an exact entry for the path must name the platform team.
    const entry = owners.filter(([pattern]) => pattern === path).at(-1);
    if (!entry?.slice(1).includes("@parley/platform-team")) {
      violations.push(`CODEOWNERS does not give ${path} to @parley/platform-team`);
    }
  }
  if (!/\*\*review from code owners required\*\*/.test(repo.deployingDoc)) {
    violations.push("docs/deploying.md's branch protection does not require code-owner review");
  }
  return violations;
}

/** The required checks docs/deploying.md lists, e.g. `pulumi preview (dev)`. */
export function requiredChecks(doc: string): string[] {
  const section = /required checks([\s\S]*?)\.\n/.exec(doc)?.[1] ?? "";
  return [...section.matchAll(/`([^`]+)`/g)].map(([, name]) => name ?? "");
}

/**
 * Every required check is a job that runs on every pull request (no path filter on the trigger, no
 * job-level `if`), so it always reports; what a PR does not touch is skipped step by step.
 */
export function requiredChecksAlwaysReport(repo: Repository): string[] {
  const violations: string[] = [];
  const checks = requiredChecks(repo.deployingDoc);
  if (checks.length === 0) violations.push("docs/deploying.md lists no required checks");
  for (const check of checks) {
    const named = [...jobsOf(repo.pipeline)].filter(({ jobId, job }) =>
      expandMatrix(job.name ?? jobId, job).includes(check),
    );
    const found = named.find(({ file }) => runsForPullRequests(file)) ?? named[0];
    if (!found) {
      violations.push(`required check "${check}" is no job's name`);
      continue;
    }
    const pr = found.file.workflow.on?.pull_request as Record<string, unknown> | null | undefined;
    if (
      pr === undefined ||
      (pr && (pr.paths || pr["paths-ignore"] || pr.branches || pr["branches-ignore"]))
    ) {
      violations.push(`required check "${check}" (${where(found)}) does not run on every pull request`);
    }
    if (found.job.if)
      violations.push(`required check "${check}" (${where(found)}) is skipped by a job-level if`);
  }
  return violations;
}

/**
 * Supply chain: one build (docker/build-push-action, in a job with no credentials), gated by a Trivy
 * scan that fails on any critical finding, pushed and signed (keyless cosign) by a job that records the
 * digest, proposed by digest, and verified (cosign verify) before each stack is planned.
 */
export function imagesBuiltOnceScannedSignedDeployedByDigest(repo: Repository): string[] {
  const { pipeline } = repo;
  const violations: string[] = [];
  const builds: JobAt[] = [];
  for (const at of jobsOf(pipeline)) {
    const commands = commandsOf(at.job, pipeline);
    if (/\bdocker (buildx )?build\b/.test(commands)) violations.push(`${where(at)}: a plain docker build`);
    if ((at.job.steps ?? []).some((step) => uses(step, "docker/build-push-action"))) builds.push(at);
  }
  if (builds.length !== 1) violations.push(`the image is built by ${builds.length} jobs, expected one`);
  for (const build of builds) {
    const steps = build.job.steps ?? [];
    const buildIndex = steps.findIndex((step) => uses(step, "docker/build-push-action"));
    const output = /dest=(.+)$/.exec(String(steps[buildIndex]?.with?.outputs ?? ""))?.[1];
    if (mintsTokens(build.job) || environmentsOf(build.job).length > 0) {
      violations.push(`${where(build)}: builds with credentials at hand`);
    }
    const scan = steps.findIndex((step) => uses(step, "aquasecurity/trivy-action"));
    const scanInputs = steps[scan]?.with ?? {};
    if (
      scan < buildIndex ||
      String(scanInputs["exit-code"]) !== "1" ||
      !String(scanInputs.severity ?? "").includes("CRITICAL") ||
      scanInputs.input !== output
    ) {
      violations.push(
        `${where(build)}: the built image is not gated by a Trivy scan failing on critical findings`,
      );
    }
    const upload = steps.findIndex(
      (step) => uses(step, "actions/upload-artifact") && step.with?.path === output,
    );
    if (upload === -1 || upload < scan) violations.push(`${where(build)}: hands on an image before its scan`);
    const publishers = [...jobsOf(pipeline)].filter(
      (at) => at.file === build.file && /\bdocker push\b/.test(commandsOf(at.job, pipeline)),
    );
    if (publishers.length === 0) violations.push(`${build.file.path}: pushes no image`);
    for (const publisher of publishers) {
      const commands = commandsOf(publisher.job, pipeline);
      if (!upstreamJobs(build.file.workflow, publisher.jobId).has(build.jobId)) {
        violations.push(`${where(publisher)}: pushes an image it did not take from ${build.jobId}`);
      }
      if (!/\bcosign sign --yes\b/.test(commands))
        violations.push(`${where(publisher)}: pushes without signing`);
      if (!/echo "digest=\$digest" >>"\$GITHUB_OUTPUT"/.test(commands)) {
        violations.push(`${where(publisher)}: does not record the pushed digest`);
      }
    }
  }
  for (const at of jobsOf(pipeline)) {
    const setsImage = (at.job.steps ?? []).filter((step) => /set-image-tag\.ts/.test(step.run ?? ""));
    for (const step of setsImage) {
      if (
        !/"\$TAG" "\$DIGEST"/.test(step.run ?? "") ||
        !/outputs\.digest/.test(String(step.env?.DIGEST ?? ""))
      ) {
        violations.push(`${where(at)}: proposes an image without its recorded digest`);
      }
    }
  }
  const plans = pulumiOperations(pipeline).filter(
    (operation) => operation.command === "preview" && typeof operation.step.with?.plan === "string",
  );
  for (const plan of plans) {
    const steps = plan.job.steps ?? [];
    const verify = steps.findIndex((step) =>
      /\bcosign verify\b[\s\S]*app-release\.yml@refs\/heads\/main/.test(commandOf(step, pipeline)),
    );
    const stackFile = (steps[verify]?.run ?? "").includes(`Pulumi.${plan.stacks[0]}.yaml`);
    if (verify === -1 || verify > steps.indexOf(plan.step) || !stackFile) {
      violations.push(
        `${plan.file.path} job ${plan.jobId}: plans ${plan.stacks} without verifying its image's signature first`,
      );
    }
  }
  return violations;
}

/** `npm ci --ignore-scripts` wherever dependencies are installed: no install script runs next to an OIDC token. */
export function installsRunNoScripts(repo: Repository): string[] {
  const violations: string[] = [];
  const runs: Array<{ path: string; run: string }> = [];
  for (const { path, text } of repo.pipeline.actions) {
    const steps = ((parse(text) as { runs?: { steps?: Step[] } })?.runs?.steps ?? []) as Step[];
    for (const step of steps) runs.push({ path, run: commandOf(step, repo.pipeline) });
  }
  for (const at of jobsOf(repo.pipeline)) {
    for (const step of at.job.steps ?? [])
      runs.push({ path: where(at), run: commandOf(step, repo.pipeline) });
  }
  const installs = runs.flatMap(({ path, run }) =>
    [...run.matchAll(/(?:^|[;&|]\s*)npm (?:ci|install|i)\b[^\n]*/gm)].map(([line]) => ({
      path,
      line: line.trim(),
    })),
  );
  if (installs.length === 0) violations.push("no step installs the dependencies");
  for (const { path, line } of installs) {
    if (!/--ignore-scripts\b/.test(line)) violations.push(`${path}: "${line}" runs install scripts`);
  }
  return violations;
}

/** Node comes from `.node-version` (24.x), read by every actions/setup-node. */
export function nodeFromNodeVersionFile(repo: Repository): string[] {
  const violations: string[] = [];
  if (!/^24\.\d+\.\d+\n?$/.test(repo.nodeVersion)) {
    violations.push(`.node-version is "${repo.nodeVersion.trim()}", expected an exact 24.x.y version`);
  }
  const setups = [...repo.pipeline.actions, ...repo.pipeline.workflows].flatMap(({ path, text }) => {
    const steps: Step[] = [];
    const visit = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value && typeof value === "object") {
        const step = value as Step;
        if (typeof step.uses === "string" && step.uses.startsWith("actions/setup-node@")) steps.push(step);
        else Object.values(value).forEach(visit);
      }
    };
    visit(parse(text));
    return steps.map((step) => ({ path, step }));
  });
  if (setups.length === 0) violations.push("no actions/setup-node step");
  for (const { path, step } of setups) {
    if (step.with?.["node-version-file"] !== ".node-version" || step.with?.["node-version"] !== undefined) {
      violations.push(`${path}: actions/setup-node does not read .node-version`);
    }
  }
  return violations;
}

/** Every action is on the release the verified table names, pinned to that release's commit; Dependabot keeps them current. */
export function actionsOnVerifiedReleases(repo: Repository): string[] {
  const violations: string[] = [];
  for (const { path, text } of [...repo.pipeline.workflows, ...repo.pipeline.actions]) {
    for (const [, action = "", sha = "", version = ""] of text.matchAll(
      /uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40})\s*#\s*(v[\d.]+)/g,
    )) {
      const verified = verifiedReleases[action];
      if (!verified) violations.push(`${path}: ${action} is not in tests/workflows/action-releases.ts`);
      else if (verified.sha !== sha || verified.version !== version) {
        violations.push(
          `${path}: ${action}@${sha} # ${version} is not the verified ${verified.version} (${verified.sha})`,
        );
      }
    }
  }
  const dependabot = (parse(repo.dependabot) ?? {}) as {
    updates?: Array<{ "package-ecosystem"?: string; directory?: string; directories?: string[] }>;
  };
  const dirs = (ecosystem: string) =>
    (dependabot.updates ?? [])
      .filter((update) => update["package-ecosystem"] === ecosystem)
      .flatMap((update) => [...(update.directories ?? []), ...(update.directory ? [update.directory] : [])]);
  for (const [ecosystem, required] of [
    ["github-actions", ["/", "/.github/actions/setup"]],
    ["npm", ["/"]],
  ] as const) {
    const missing = required.filter((dir) => !dirs(ecosystem).includes(dir));
    if (missing.length > 0)
      violations.push(`dependabot.yml does not update ${ecosystem} in ${missing.join(", ")}`);
  }
  return violations;
}

/**
 * The jobs that reach a cluster (preview, plan, up, drift) run on the runner group whose static egress
 * addresses every stack lists in `parley:pipelineEgressCidrs`, each inside `parley:clusterApiAllowedCidrs`.
 */
export function pipelineReachesTheClusterApi(repo: Repository): string[] {
  const violations: string[] = [];
  const reached = new Set<string>();
  for (const at of jobsOf(repo.pipeline)) {
    const { stacks, runs } = pulumiWorkOf(repo.pipeline, at);
    if (!runs) continue;
    const runsOn = at.job["runs-on"];
    if (typeof runsOn !== "object" || Array.isArray(runsOn) || runsOn?.group !== pipelineRunnerGroup) {
      violations.push(
        `${where(at)}: reaches the cluster API from runners outside the ${pipelineRunnerGroup} group`,
      );
    }
    for (const stack of stacks) reached.add(stack);
  }
  for (const stack of reached) {
    const config = (parse(repo.stackConfigs[stack] ?? "")?.config ?? {}) as Record<string, unknown>;
    const egress = (config["parley:pipelineEgressCidrs"] as string[] | undefined) ?? [];
    const allowed = (config["parley:clusterApiAllowedCidrs"] as string[] | undefined) ?? [];
    if (egress.length === 0) violations.push(`Pulumi.${stack}.yaml lists no parley:pipelineEgressCidrs`);
    for (const cidr of egress) {
      if (!allowed.some((range) => cidrContains(range, cidr))) {
        violations.push(
          `Pulumi.${stack}.yaml: the pipeline's ${cidr} is outside parley:clusterApiAllowedCidrs`,
        );
      }
    }
  }
  if (!repo.deployingDoc.includes(`\`${pipelineRunnerGroup}\``)) {
    violations.push(`docs/deploying.md does not say how to set up the ${pipelineRunnerGroup} runner group`);
  }
  return violations;
}

/**
 * Rollback does not wait for the full suite: rollback.yml (by hand, from main) proposes an earlier
 * released digest as a PR; ci.yml's npm test skips its suite only for PRs that change nothing but the
 * image lines (changes.sh), and still reports.
 */
export function rollbackIsFastAndReviewed(repo: Repository): string[] {
  const { pipeline } = repo;
  const violations: string[] = [];
  const rollback = pipeline.workflows.find(({ path }) => path.endsWith("/rollback.yml"));
  if (!rollback) return ["there is no .github/workflows/rollback.yml"];
  if (Object.keys(rollback.workflow.on ?? {}).join() !== "workflow_dispatch") {
    violations.push("rollback.yml must run only by hand");
  }
  const commands = Object.values(rollback.workflow.jobs)
    .map((job) => commandsOf(job, pipeline))
    .join("\n");
  for (const [pattern, what] of [
    [/rollback-target\.sh/, "find an earlier released image"],
    [/set-image-tag\.ts "\$TAG" "\$DIGEST"/, "set its tag and digest"],
    [/open-release-pr\.sh rollback\b/, "open a rollback PR"],
    [/\bgh pr create\b/, "open a PR"],
    [/gh workflow run ci\.yml[\s\S]*gh workflow run preview\.yml/, "start the PR's checks"],
  ] as const) {
    if (!pattern.test(commands)) violations.push(`rollback.yml does not ${what}`);
  }
  if (/\bgh pr merge\b|docker|build-push/.test(commands)) violations.push("rollback.yml builds or merges");
  const ci = workflowNamed(pipeline, "ci.yml");
  const test = Object.values(ci.jobs).find((job) => job.name === "npm test");
  const steps = test?.steps ?? [];
  const changes = steps.find((step) => step.id === "changes");
  if (!changes || !/\.github\/scripts\/changes\.sh/.test(changes.run ?? "")) {
    violations.push("ci.yml's npm test job does not classify the change");
  }
  const suite = steps.find((step) => step.run === "npm test");
  if (!suite || !/steps\.changes\.outputs\.image-only != 'true'/.test(suite.if ?? "")) {
    violations.push("ci.yml runs the full suite for an image-only PR (a rollback waits for it)");
  }
  if (/image-only/.test(String(test?.if ?? ""))) violations.push("ci.yml skips the whole npm test job");
  return violations;
}

/** Drift is told from failure by the CLI's exit code (7: changes where none were expected), not by its text. */
export function driftByExitCode(repo: Repository): string[] {
  const script = repo.pipeline.scripts.get(".github/scripts/drift-check.sh") ?? "";
  const violations: string[] = [];
  if (
    !/expected_no_changes_but_changed=7\b/.test(script) ||
    !/"\$expected_no_changes_but_changed"\) status=drift/.test(script)
  ) {
    violations.push("drift-check.sh does not classify drift by exit code 7");
  }
  if (/grep[^\n]*preview\.log/.test(script)) violations.push("drift-check.sh reads drift from the log text");
  return violations;
}

export const boundaryChecks = {
  tokensOnlyInEnvironments,
  pullRequestsHoldReadOnlyCredentials,
  pulumiTokensScopedPerStack,
  gateRunsBeforeChange,
  pullRequestsCannotEditTheirGate,
  requiredChecksAlwaysReport,
  imagesBuiltOnceScannedSignedDeployedByDigest,
  installsRunNoScripts,
  nodeFromNodeVersionFile,
  actionsOnVerifiedReleases,
  pipelineReachesTheClusterApi,
  rollbackIsFastAndReviewed,
  driftByExitCode,
} satisfies Record<string, (repo: Repository) => string[]>;
