import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { boundaryChecks, loadRepository } from "./boundary";
import { contracts } from "./contracts";
import { gates } from "./gates";
import { clonePipeline, ghExpression, loadPipeline, workflowNamed } from "./pipeline";
import {
  admits,
  environmentsProtectWrites,
  oidcJobs,
  pulumiTeamsMatchTheJobs,
  repository,
  trustPoliciesMatchTheJobs,
  trustPoliciesOf,
} from "./trust-policies";

const doc = readFileSync("docs/deploying.md", "utf8");
const pipeline = loadPipeline();
const sub = (environment: string) => `repo:${repository}:environment:${environment}`;

describe("docs/deploying.md's trust policies, Pulumi teams and environments, against the workflows", () => {
  it("has one trust policy per role, each admitting exactly its environment's jobs", () => {
    const policies = trustPoliciesOf(doc);
    expect(policies.map(({ role }) => role).sort()).toEqual([
      "parley-dev-deploy",
      "parley-dev-plan",
      "parley-dev-preview",
      "parley-ecr-push",
      "parley-prod-deploy",
      "parley-prod-plan",
      "parley-prod-preview",
    ]);
    const prodDeploy = policies.find(({ role }) => role === "parley-prod-deploy");
    expect(prodDeploy && admits(prodDeploy, sub("prod"))).toBe(true);
    expect(prodDeploy && admits(prodDeploy, sub("prod-preview"))).toBe(false);
    expect(prodDeploy && admits(prodDeploy, `repo:${repository}:pull_request`)).toBe(false);
  });

  it("sees the jobs that assume roles (the check is not vacuous)", () => {
    const subs = oidcJobs(pipeline)
      .filter(({ aws }) => aws)
      .flatMap(({ subs }) => subs)
      .sort();
    expect([...new Set(subs)]).toEqual(
      ["dev", "dev-plan", "dev-preview", "prod", "prod-plan", "prod-preview", "release"].map(sub),
    );
  });

  it("holds: trust policies match the jobs", () => {
    expect(trustPoliciesMatchTheJobs(doc, pipeline)).toEqual([]);
  });

  it("holds: Pulumi teams match the jobs", () => {
    expect(pulumiTeamsMatchTheJobs(doc, pipeline)).toEqual([]);
  });

  it("holds: environments that can change something deploy from main only, prod with reviewers", () => {
    expect(environmentsProtectWrites(doc, pipeline)).toEqual([]);
  });
});

describe("each docs check fails on a mutated doc or workflow", () => {
  const prodPolicy =
    /("token\.actions\.githubusercontent\.com:sub": "repo:<owner>\/<repo>:environment:prod")/;

  it("a wildcard under StringEquals (it would match only itself)", () => {
    const mutated = doc.replace(
      prodPolicy,
      '"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:environment:prod*"',
    );
    expect(trustPoliciesMatchTheJobs(mutated, pipeline)).toContainEqual(
      expect.stringMatching(
        /parley-prod-deploy: "repo:<owner>\/<repo>:environment:prod\*" under StringEquals matches only itself/,
      ),
    );
  });

  it("a prod role that also trusts the PR preview environment (StringLike prod*)", () => {
    const mutated = doc.replace(
      /"StringEquals": \{\n(\s+)"token\.actions\.githubusercontent\.com:aud": "sts\.amazonaws\.com",\n\s+"token\.actions\.githubusercontent\.com:sub": "repo:<owner>\/<repo>:environment:prod"\n(\s+)\}/,
      '"StringEquals": {\n$1"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"\n$2},\n$2"StringLike": {\n$1"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:environment:prod*"\n$2}',
    );
    expect(mutated).not.toBe(doc);
    const violations = trustPoliciesMatchTheJobs(mutated, pipeline);
    expect(violations).toContainEqual(
      expect.stringMatching(
        /preview\.yml job preview: .*environment:prod-preview is admitted by \[parley-prod-preview,parley-prod-deploy\], expected exactly one role/,
      ),
    );
  });

  it("a policy that admits pull requests", () => {
    const mutated = doc.replace(
      prodPolicy,
      '"token.actions.githubusercontent.com:sub": "repo:<owner>/<repo>:pull_request"',
    );
    expect(trustPoliciesMatchTheJobs(mutated, pipeline)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/parley-prod-deploy: admits repo:<owner>\/<repo>:pull_request/),
        expect.stringMatching(
          /deploy\.yml job up-prod: .*environment:prod is admitted by \[\], expected exactly one role/,
        ),
      ]),
    );
  });

  it("a job that assumes a role outside any environment", () => {
    const copy = clonePipeline(pipeline);
    const deploy = workflowNamed(copy, "deploy.yml").jobs["plan-dev"];
    if (deploy) delete deploy.environment;
    expect(trustPoliciesMatchTheJobs(doc, copy)).toContainEqual(
      expect.stringMatching(/deploy\.yml job plan-dev: assumes a role with a branch or PR sub/),
    );
  });

  it("a PR preview asking for the deploy team", () => {
    const copy = clonePipeline(pipeline);
    const auth = workflowNamed(copy, "preview.yml").jobs.preview?.steps?.find((step) =>
      step.uses?.startsWith("pulumi/auth-actions@"),
    );
    if (auth?.with) auth.with.scope = `team:parley-${ghExpression("matrix.stack")}-deploy`;
    expect(pulumiTeamsMatchTheJobs(doc, copy)).toContainEqual(
      expect.stringMatching(
        /preview\.yml job preview: asks for team:parley-dev-deploy in environment dev-preview; the doc's Pulumi table says parley-dev-read/,
      ),
    );
  });

  it("a Pulumi table granting Stack Write to a read-only environment", () => {
    const mutated = doc.replace(
      "| `prod-plan`        | `parley-prod-read`   | Stack Read (prod)",
      "| `prod-plan`        | `parley-prod-read`   | Stack Write (prod)",
    );
    expect(mutated).not.toBe(doc);
    expect(pulumiTeamsMatchTheJobs(mutated, pipeline)).toContainEqual(
      expect.stringMatching(
        /environment prod-plan's team has Stack Write \(prod\), but the job only previews/,
      ),
    );
  });

  it("a deploy environment open to every branch, and prod without reviewers", () => {
    const mutated = doc.replace(
      /\| `prod` {9}\| `main` only {9}\| the people who approve prod deploys \|/,
      "| `prod` | all | none |",
    );
    expect(mutated).not.toBe(doc);
    expect(environmentsProtectWrites(mutated, pipeline)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /deploy\.yml job up-prod: environment prod can change things but deploys from all/,
        ),
        "the prod environment has no required reviewers",
      ]),
    );
  });
});

describe("docs/deploying.md's security claims", () => {
  it("each names the checks that back it, and each named check exists and holds", { timeout: 60_000 }, () => {
    const docChecks: Record<string, () => string[]> = {
      trustPoliciesMatchTheJobs: () => trustPoliciesMatchTheJobs(doc, pipeline),
      pulumiTeamsMatchTheJobs: () => pulumiTeamsMatchTheJobs(doc, pipeline),
      environmentsProtectWrites: () => environmentsProtectWrites(doc, pipeline),
    };
    const repo = loadRepository();
    const known: Record<string, () => string[]> = {
      ...docChecks,
      ...Object.fromEntries(Object.entries(boundaryChecks).map(([name, check]) => [name, () => check(repo)])),
      ...Object.fromEntries(
        Object.entries({ ...gates, ...contracts }).map(([name, check]) => [name, () => check(pipeline)]),
      ),
    };
    const section = /## The pipeline as a security boundary\n([\s\S]*?)\n## /.exec(doc)?.[1] ?? "";
    const claims = section.split("\n- ").slice(1);
    expect(claims.length).toBeGreaterThanOrEqual(8);
    for (const claim of claims) {
      const named = /Checks:\s+([\s\S]+)$/.exec(claim)?.[1] ?? "";
      const checks = [...named.matchAll(/`(\w+)`/g)].map(([, name]) => name ?? "");
      expect(checks.length, `"${claim.slice(0, 60)}…" names no check`).toBeGreaterThan(0);
      for (const name of checks) {
        expect(Object.keys(known), `${name} is not a check in tests/workflows/`).toContain(name);
        expect(known[name]?.(), name).toEqual([]);
      }
    }
  });
});
