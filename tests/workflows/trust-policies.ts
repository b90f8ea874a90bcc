/**
 * docs/deploying.md's sample IAM trust policies, Pulumi OIDC teams and GitHub environments, checked
 * against the workflows' jobs: what a job's OIDC `sub` is (`repo:<owner>/<repo>:environment:<name>`
 * for a job in an environment; GitHub's OpenID Connect reference), which role admits it, and with
 * what rights.
 */

import { pulumiOperations } from "./gates";
import { environmentOf, expandMatrix, type Job, type Pipeline } from "./pipeline";

export const repository = "<owner>/<repo>";
const subKey = "token.actions.githubusercontent.com:sub";
const audKey = "token.actions.githubusercontent.com:aud";

export interface TrustPolicy {
  /** The role named in the line before the JSON block ("Trust policy of `<role>`:"). */
  role: string;
  document: {
    Statement?: Array<{
      Effect?: string;
      Principal?: { Federated?: string };
      Action?: string | string[];
      Condition?: Record<string, Record<string, string | string[]>>;
    }>;
  };
}

/** Every ```json block of the doc that is a web-identity trust policy, with the role it is for. */
export function trustPoliciesOf(doc: string): TrustPolicy[] {
  return [...doc.matchAll(/Trust policy of `([^`]+)`:\s*```json\n([\s\S]*?)```/g)].map(
    ([, role = "", json = ""]) => ({
      role,
      document: JSON.parse(json),
    }),
  );
}

/** A markdown table's rows (cells trimmed, backticks dropped) under the header whose first cell is `first`. */
export function tableRows(doc: string, first: string): string[][] {
  const lines = doc.split("\n").map((line) => line.trim());
  const header = lines.findIndex((line) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(line));
  if (header === -1) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim().replaceAll("`", "")),
    );
  }
  return rows;
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : [value].flat());
const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`,
  );

/** Whether the policy lets a token with this `sub` assume the role. */
export function admits(policy: TrustPolicy, sub: string): boolean {
  return (policy.document.Statement ?? []).some((statement) => {
    const conditions = statement.Condition ?? {};
    const exact = asList(conditions.StringEquals?.[subKey]);
    const patterns = asList(conditions.StringLike?.[subKey]);
    return exact.includes(sub) || patterns.some((pattern) => glob(pattern).test(sub));
  });
}

interface OidcJob {
  at: string;
  job: Job;
  subs: string[];
  /** Assumes an AWS role / asks Pulumi for a team token; updates a stack. */
  aws: boolean;
  pulumiScopes: string[];
  updates: boolean;
}

/** Each job that mints an OIDC token, with the `sub` claims it presents. */
export function oidcJobs(pipeline: Pipeline): OidcJob[] {
  const jobs: OidcJob[] = [];
  for (const file of pipeline.workflows) {
    for (const [jobId, job] of Object.entries(file.workflow.jobs ?? {})) {
      const permissions = job.permissions;
      if (typeof permissions !== "object" || permissions["id-token"] !== "write") continue;
      const environment = environmentOf(job);
      const steps = job.steps ?? [];
      const auth = steps.find((step) => step.uses?.startsWith("pulumi/auth-actions@"));
      jobs.push({
        at: `${file.path} job ${jobId}`,
        job,
        subs: environment
          ? expandMatrix(environment, job).map((name) => `repo:${repository}:environment:${name}`)
          : [],
        aws: steps.some((step) => step.uses?.startsWith("aws-actions/configure-aws-credentials@")),
        pulumiScopes: auth ? expandMatrix(String(auth.with?.scope ?? ""), job) : [],
        updates: pulumiOperations(pipeline).some(
          (operation) =>
            operation.file === file &&
            operation.jobId === jobId &&
            ["up", "update"].includes(operation.command),
        ),
      });
    }
  }
  return jobs;
}

/** The doc's trust policies are exact, and match the jobs that assume roles one to one. */
export function trustPoliciesMatchTheJobs(doc: string, pipeline: Pipeline): string[] {
  const violations: string[] = [];
  const policies = trustPoliciesOf(doc);
  if (policies.length === 0) return ["docs/deploying.md has no trust policy"];
  const roles = new Map(tableRows(doc, "role").map(([role = "", environment = ""]) => [role, environment]));
  for (const policy of policies) {
    for (const statement of policy.document.Statement ?? []) {
      if (!statement.Principal?.Federated?.endsWith(":oidc-provider/token.actions.githubusercontent.com")) {
        violations.push(`${policy.role}: does not trust GitHub's OIDC provider`);
      }
      if (asList(statement.Action).join() !== "sts:AssumeRoleWithWebIdentity") {
        violations.push(
          `${policy.role}: allows ${asList(statement.Action)}, not only sts:AssumeRoleWithWebIdentity`,
        );
      }
      const conditions = statement.Condition ?? {};
      if (asList(conditions.StringEquals?.[audKey]).join() !== "sts.amazonaws.com") {
        violations.push(`${policy.role}: the audience is not exactly sts.amazonaws.com`);
      }
      for (const sub of asList(conditions.StringEquals?.[subKey])) {
        if (/[*?]/.test(sub))
          violations.push(
            `${policy.role}: "${sub}" under StringEquals matches only itself; a pattern needs StringLike`,
          );
      }
      for (const sub of asList(conditions.StringLike?.[subKey])) {
        if (!/[*?]/.test(sub))
          violations.push(`${policy.role}: "${sub}" under StringLike is exact; use StringEquals`);
      }
      const subs = [...asList(conditions.StringEquals?.[subKey]), ...asList(conditions.StringLike?.[subKey])];
      if (subs.length === 0)
        violations.push(`${policy.role}: no sub condition: any workflow of any branch could assume it`);
      const environment = roles.get(policy.role);
      const expected = `repo:${repository}:environment:${environment}`;
      if (!environment || subs.join() !== expected) {
        violations.push(
          `${policy.role}: trusts [${subs}], but the roles table gives it environment ${environment ?? "(none)"}`,
        );
      }
    }
  }
  const awsJobs = oidcJobs(pipeline).filter(({ aws }) => aws);
  const presented = new Set(awsJobs.flatMap(({ subs }) => subs));
  for (const { at, subs } of awsJobs) {
    if (subs.length === 0)
      violations.push(`${at}: assumes a role with a branch or PR sub no policy should admit`);
    for (const sub of subs) {
      const admitting = policies.filter((policy) => admits(policy, sub)).map(({ role }) => role);
      if (admitting.length !== 1)
        violations.push(`${at}: ${sub} is admitted by [${admitting}], expected exactly one role`);
    }
  }
  for (const policy of policies) {
    if (![...presented].some((sub) => admits(policy, sub))) {
      violations.push(`${policy.role}: admits no job of the workflows (stale trust)`);
    }
    for (const sub of [`repo:${repository}:pull_request`, `repo:${repository}:ref:refs/heads/main`]) {
      if (admits(policy, sub))
        violations.push(`${policy.role}: admits ${sub}, which any workflow on it can present`);
    }
  }
  return violations;
}

/** The doc's Pulumi OIDC table gives each environment the team its jobs ask for; only deploys get Stack Write. */
export function pulumiTeamsMatchTheJobs(doc: string, pipeline: Pipeline): string[] {
  const violations: string[] = [];
  const rows = tableRows(doc, "GitHub environment");
  const teamOf = new Map(
    rows.map(([environment = "", team = "", permission = ""]) => [environment, { team, permission }]),
  );
  for (const { at, subs, pulumiScopes, updates } of oidcJobs(pipeline)) {
    if (pulumiScopes.length === 0) continue;
    subs.forEach((sub, index) => {
      const environment = sub.split(":environment:")[1] ?? "";
      const row = teamOf.get(environment);
      const scope = pulumiScopes[index] ?? pulumiScopes[0];
      if (!row || `team:${row.team}` !== scope) {
        violations.push(
          `${at}: asks for ${scope} in environment ${environment}; the doc's Pulumi table says ${row?.team ?? "nothing"}`,
        );
      } else if (/Write|Admin/.test(row.permission) !== updates) {
        violations.push(
          `${at}: environment ${environment}'s team has ${row.permission}, but the job ${updates ? "updates" : "only previews"}`,
        );
      }
    });
  }
  return violations;
}

/**
 * The doc's environments: every one a job uses is listed; environments whose credentials can change
 * something (a deploy, a push) deploy from `main` only; prod has required reviewers.
 */
export function environmentsProtectWrites(doc: string, pipeline: Pipeline): string[] {
  const violations: string[] = [];
  const settings = new Map(
    tableRows(doc, "environment").map(([environment = "", branches = "", reviewers = ""]) => [
      environment,
      { branches, reviewers },
    ]),
  );
  for (const { at, subs, updates, job } of oidcJobs(pipeline)) {
    const writes = updates || (job.steps ?? []).some((step) => /push-image\.sh/.test(step.run ?? ""));
    for (const sub of subs) {
      const environment = sub.split(":environment:")[1] ?? "";
      const setting = settings.get(environment);
      if (!setting) {
        violations.push(`${at}: environment ${environment} is not in the doc's environments table`);
      } else if (writes && setting.branches !== "main only") {
        violations.push(
          `${at}: environment ${environment} can change things but deploys from ${setting.branches}`,
        );
      }
    }
  }
  if (!settings.get("prod") || /^none$/i.test(settings.get("prod")?.reviewers ?? "none")) {
    violations.push("the prod environment has no required reviewers");
  }
  return violations;
}
