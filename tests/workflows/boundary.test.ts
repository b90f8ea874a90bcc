import { describe, expect, it } from "vitest";
import { boundaryChecks, loadRepository, type Repository, requiredChecks } from "./boundary";
import { clonePipeline, ghExpression, type Job, type Step, workflowNamed } from "./pipeline";

const repo = loadRepository();
type CheckName = keyof typeof boundaryChecks;

function copyOf(original: Repository): Repository {
  return {
    ...original,
    pipeline: clonePipeline(original.pipeline),
    stackConfigs: { ...original.stackConfigs },
  };
}

function job(copy: Repository, file: string, id: string): Job {
  const found = workflowNamed(copy.pipeline, file).jobs[id];
  if (!found) throw new Error(`no job ${id} in ${file}`);
  return found;
}

function step(copy: Repository, file: string, id: string, match: (step: Step) => boolean): Step {
  const found = job(copy, file, id).steps?.find(match);
  if (!found) throw new Error(`no such step in ${file} job ${id}`);
  return found;
}

const usesAction = (action: string) => (candidate: Step) => candidate.uses?.startsWith(`${action}@`) ?? false;
const pulumiStep = (candidate: Step) =>
  usesAction("pulumi/actions")(candidate) && candidate.with?.command !== undefined;

function edit<K extends "deployingDoc" | "codeowners" | "dependabot" | "nodeVersion">(
  copy: Repository,
  key: K,
  change: (text: string) => string,
) {
  const edited = change(copy[key]);
  if (edited === copy[key]) throw new Error(`the edit left ${key} unchanged`);
  copy[key] = edited;
}

function editText(copy: Repository, file: string, change: (text: string) => string) {
  const target = [...copy.pipeline.workflows, ...copy.pipeline.actions].find(({ path }) =>
    path.endsWith(file),
  );
  if (!target) throw new Error(`no ${file}`);
  const edited = change(target.text);
  if (edited === target.text) throw new Error(`the edit left ${file} unchanged`);
  target.text = edited;
}

function editScript(copy: Repository, name: string, change: (text: string) => string) {
  const path = `.github/scripts/${name}`;
  const text = copy.pipeline.scripts.get(path) ?? "";
  const edited = change(text);
  if (edited === text) throw new Error(`the edit left ${path} unchanged`);
  copy.pipeline.scripts.set(path, edited);
}

describe("the pipeline as a security boundary", () => {
  it.each(Object.keys(boundaryChecks) as CheckName[])("holds %s", (name) => {
    expect(boundaryChecks[name](repo)).toEqual([]);
  });

  it("reads the required checks from docs/deploying.md (the list is not empty)", () => {
    expect(requiredChecks(repo.deployingDoc)).toEqual([
      "npm test",
      "offline plan + policy gate (dev)",
      "offline plan + policy gate (prod)",
      "render observability artifacts",
      "actionlint",
      "pulumi preview (dev)",
      "pulumi preview (prod)",
    ]);
  });
});

interface Mutation {
  check: CheckName;
  what: string;
  mutate: (copy: Repository) => void;
  expected: RegExp;
}

const mutations: Mutation[] = [
  {
    check: "tokensOnlyInEnvironments",
    what: "the drift check minting tokens without an environment (a branch sub)",
    mutate: (copy) => {
      delete job(copy, "drift.yml", "check").environment;
    },
    expected: /drift\.yml job check: can mint OIDC tokens outside a GitHub environment/,
  },
  {
    check: "pullRequestsHoldReadOnlyCredentials",
    what: "the PR preview in the prod deploy environment",
    mutate: (copy) => {
      job(copy, "preview.yml", "preview").environment = ghExpression("matrix.stack");
    },
    expected:
      /preview\.yml job preview: runs for pull requests in environments \[dev,prod\], expected the preview environments/,
  },
  {
    check: "pullRequestsHoldReadOnlyCredentials",
    what: "a long-lived Pulumi token back in a job",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", pulumiStep).env = {
        PULUMI_ACCESS_TOKEN: ghExpression("secrets.PULUMI_ACCESS_TOKEN"),
      };
    },
    expected: /preview\.yml job preview: passes a long-lived Pulumi token \(PULUMI_ACCESS_TOKEN\)/,
  },
  {
    check: "pullRequestsHoldReadOnlyCredentials",
    what: "the edit-capable Cloudflare token decryptable from stack config",
    mutate: (copy) => {
      copy.stackConfigs.prod = `${copy.stackConfigs.prod}  cloudflare:apiToken:\n    secure: v1:abc\n`;
    },
    expected: /Pulumi\.prod\.yaml holds cloudflare:apiToken: every job that previews prod could decrypt it/,
  },
  {
    check: "pullRequestsHoldReadOnlyCredentials",
    what: "a pulumi up for a pull request",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", pulumiStep).with!.command = "up";
    },
    expected: /preview\.yml job preview: runs pulumi up for a pull request/,
  },
  {
    check: "pulumiTokensScopedPerStack",
    what: "the PR preview asking for the deploy team",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", usesAction("pulumi/auth-actions")).with!.scope =
        `team:parley-${ghExpression("matrix.stack")}-deploy`;
    },
    expected:
      /preview\.yml job preview: asks for Pulumi scopes \[team:parley-dev-deploy,team:parley-prod-deploy\], expected \[team:parley-dev-read,team:parley-prod-read\]/,
  },
  {
    check: "pulumiTokensScopedPerStack",
    what: "the prod up with dev's team",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", usesAction("pulumi/auth-actions")).with!.scope =
        "team:parley-dev-deploy";
    },
    expected:
      /deploy\.yml job up-prod: asks for Pulumi scopes \[team:parley-dev-deploy\], expected \[team:parley-prod-deploy\]/,
  },
  {
    check: "pulumiTokensScopedPerStack",
    what: "an organization token",
    mutate: (copy) => {
      step(copy, "drift.yml", "check", usesAction("pulumi/auth-actions")).with!["requested-token-type"] =
        "urn:pulumi:token-type:access_token:organization";
    },
    expected:
      /drift\.yml job check: asks for a urn:pulumi:token-type:access_token:organization token, not a team token/,
  },
  {
    check: "pulumiTokensScopedPerStack",
    what: "a Pulumi run without a minted token",
    mutate: (copy) => {
      const steps = job(copy, "deploy.yml", "plan-dev").steps!;
      steps.splice(steps.findIndex(usesAction("pulumi/auth-actions")), 1);
    },
    expected:
      /deploy\.yml job plan-dev: runs Pulumi without a token minted by pulumi\/auth-actions before it/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "an up without the saved plan (the gate would run during the change)",
    mutate: (copy) => {
      delete step(copy, "deploy.yml", "up-prod", pulumiStep).with!.plan;
    },
    expected: /deploy\.yml job up-prod: an up without --plan can do more than its gated preview showed/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "the plan saved by a preview without the policy pack",
    mutate: (copy) => {
      step(copy, "deploy.yml", "plan-prod", pulumiStep).with!.policyPacks = "";
    },
    expected:
      /deploy\.yml job up-prod: no earlier job previews prod with the policy pack and saves plan-prod\.json/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "the up not waiting for its plan job",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-prod").needs = "up-dev";
    },
    expected: /deploy\.yml job up-prod: no earlier job previews prod/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "the prod plan behind the approval (the reviewer would approve blind)",
    mutate: (copy) => {
      job(copy, "deploy.yml", "plan-prod").environment = "prod";
    },
    expected: /deploy\.yml job plan-prod: plans in \[prod\], expected the read-only \[prod-plan\]/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "the plan kept from the approver's summary",
    mutate: (copy) => {
      step(copy, "deploy.yml", "plan-prod", pulumiStep).with!["comment-on-summary"] = false;
    },
    expected: /deploy\.yml job plan-prod: the plan is not in the run summary for the approver/,
  },
  {
    check: "gateRunsBeforeChange",
    what: "the up not downloading the saved plan",
    mutate: (copy) => {
      const steps = job(copy, "deploy.yml", "up-dev").steps!;
      steps.splice(steps.findIndex(usesAction("actions/download-artifact")), 1);
    },
    expected: /deploy\.yml job up-dev: does not apply the plan job plan-dev saved/,
  },
  {
    check: "pullRequestsCannotEditTheirGate",
    what: "the PR's own policy pack",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", pulumiStep).with!.policyPacks = "policies";
    },
    expected:
      /preview\.yml job preview: a PR preview runs the PR's own policy pack, not the base branch's \.gate\/policies/,
  },
  {
    check: "pullRequestsCannotEditTheirGate",
    what: ".gate checked out from the PR head",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", (s) => /worktree/.test(s.run ?? "")).env = { BASE_SHA: "HEAD" };
    },
    expected: /preview\.yml job preview: \.gate is not checked out from the base commit before the preview/,
  },
  {
    check: "pullRequestsCannotEditTheirGate",
    what: "no code owner for policies/",
    mutate: (copy) => edit(copy, "codeowners", (text) => text.replace(/^\/policies\/.*$/m, "")),
    expected: /CODEOWNERS does not give \/policies\/ to @parley\/platform-team/,
  },
  {
    check: "pullRequestsCannotEditTheirGate",
    what: "branch protection without code-owner review",
    mutate: (copy) =>
      edit(copy, "deployingDoc", (text) => text.replace("**review from code owners required**", "reviews")),
    expected: /branch protection does not require code-owner review/,
  },
  {
    check: "requiredChecksAlwaysReport",
    what: "a required check skipped by a job-level if",
    mutate: (copy) => {
      job(copy, "preview.yml", "preview").if = ghExpression("contains(github.head_ref, 'infra')");
    },
    expected:
      /required check "pulumi preview \(dev\)" \(\.github\/workflows\/preview\.yml job preview\) is skipped by a job-level if/,
  },
  {
    check: "requiredChecksAlwaysReport",
    what: "a required check behind a path filter",
    mutate: (copy) => {
      workflowNamed(copy.pipeline, "preview.yml").on.pull_request = { paths: ["infra/**"] };
    },
    expected: /required check "pulumi preview \(prod\)" .* does not run on every pull request/,
  },
  {
    check: "requiredChecksAlwaysReport",
    what: "a required check the docs name but no job has",
    mutate: (copy) =>
      edit(copy, "deployingDoc", (text) => text.replace("`actionlint`,", "`lint workflows`,")),
    expected: /required check "lint workflows" is no job's name/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "a plain docker build next to the push",
    mutate: (copy) =>
      editScript(copy, "push-image.sh", (text) =>
        text.replace(
          'digest=""\n',
          'digest=""\ndocker build --file app/Dockerfile --tag "parley-app:$tag" .\n',
        ),
      ),
    expected: /app-release\.yml job publish: a plain docker build/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "a scan that does not fail the release",
    mutate: (copy) => {
      step(copy, "app-release.yml", "build", usesAction("aquasecurity/trivy-action")).with!["exit-code"] =
        "0";
    },
    expected:
      /app-release\.yml job build: the built image is not gated by a Trivy scan failing on critical findings/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "a build with credentials at hand",
    mutate: (copy) => {
      job(copy, "app-release.yml", "build").permissions = { contents: "read", "id-token": "write" };
    },
    expected: /app-release\.yml job build: builds with credentials at hand/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "an unsigned push",
    mutate: (copy) => editScript(copy, "push-image.sh", (text) => text.replace(/^\s*cosign sign .*$/m, "")),
    expected: /app-release\.yml job publish: pushes without signing/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "the image PR without the digest",
    mutate: (copy) => {
      const set = step(copy, "app-release.yml", "propose", (s) => /set-image-tag/.test(s.run ?? ""));
      set.run = set.run?.replace(' "$DIGEST"', ' "sha256:latest"');
    },
    expected: /app-release\.yml job propose: proposes an image without its recorded digest/,
  },
  {
    check: "imagesBuiltOnceScannedSignedDeployedByDigest",
    what: "prod planned without verifying the image's signature",
    mutate: (copy) => {
      const steps = job(copy, "deploy.yml", "plan-prod").steps!;
      steps.splice(
        steps.findIndex((s) => /verify-image/.test(s.run ?? "")),
        1,
      );
    },
    expected: /deploy\.yml job plan-prod: plans prod without verifying its image's signature first/,
  },
  {
    check: "installsRunNoScripts",
    what: "npm ci with install scripts in the composite action",
    mutate: (copy) =>
      editText(copy, "action.yml", (text) =>
        text.replace("run: npm ci --no-audit --no-fund --ignore-scripts", "run: npm ci --no-audit --no-fund"),
      ),
    expected: /setup\/action\.yml: "npm ci --no-audit --no-fund" runs install scripts/,
  },
  {
    check: "nodeFromNodeVersionFile",
    what: "a setup-node with its own version",
    mutate: (copy) =>
      editText(copy, "action.yml", (text) =>
        text.replace("node-version-file: .node-version", 'node-version: "24"'),
      ),
    expected: /setup\/action\.yml: actions\/setup-node does not read \.node-version/,
  },
  {
    check: "nodeFromNodeVersionFile",
    what: "Node 20 in .node-version",
    mutate: (copy) => edit(copy, "nodeVersion", () => "20.19.0\n"),
    expected: /\.node-version is "20\.19\.0", expected an exact 24\.x\.y version/,
  },
  {
    check: "actionsOnVerifiedReleases",
    what: "an action on an old release",
    mutate: (copy) =>
      editText(copy, "ci.yml", (text) =>
        text.replace(
          "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1",
          "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2",
        ),
      ),
    expected: /ci\.yml: actions\/checkout@11bd7190\w+ # v4\.2\.2 is not the verified v7\.0\.1/,
  },
  {
    check: "actionsOnVerifiedReleases",
    what: "Dependabot without the actions",
    mutate: (copy) =>
      edit(copy, "dependabot", (text) =>
        text.replace("package-ecosystem: github-actions", "package-ecosystem: docker"),
      ),
    expected: /dependabot\.yml does not update github-actions in \/, \/\.github\/actions\/setup/,
  },
  {
    check: "pipelineReachesTheClusterApi",
    what: "the prod up on a hosted runner with no stable address",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-prod")["runs-on"] = "ubuntu-latest";
    },
    expected:
      /deploy\.yml job up-prod: reaches the cluster API from runners outside the parley-pipeline group/,
  },
  {
    check: "pipelineReachesTheClusterApi",
    what: "runner addresses the stack does not admit",
    mutate: (copy) => {
      copy.stackConfigs.dev = copy.stackConfigs.dev.replace("- 203.0.113.16/29", "- 198.51.100.16/29");
    },
    expected:
      /Pulumi\.dev\.yaml: the pipeline's 198\.51\.100\.16\/29 is outside parley:clusterApiAllowedCidrs/,
  },
  {
    check: "rollbackIsFastAndReviewed",
    what: "the full suite on a rollback PR",
    mutate: (copy) => {
      delete step(copy, "ci.yml", "test", (s) => s.run === "npm test").if;
    },
    expected: /ci\.yml runs the full suite for an image-only PR \(a rollback waits for it\)/,
  },
  {
    check: "rollbackIsFastAndReviewed",
    what: "a rollback that merges itself",
    mutate: (copy) =>
      editScript(copy, "open-release-pr.sh", (text) => `${text}\ngh pr merge --auto "$number"\n`),
    expected: /rollback\.yml builds or merges/,
  },
  {
    check: "driftByExitCode",
    what: "drift read from the log text",
    mutate: (copy) =>
      editScript(copy, "drift-check.sh", (text) =>
        text.replace(
          '"$expected_no_changes_but_changed") status=drift ;;',
          '*) grep -q "no changes were expected" "$out/preview.log" && status=drift ;;',
        ),
      ),
    expected: /drift-check\.sh does not classify drift by exit code 7/,
  },
];

describe("each boundary check fails on a mutated copy", () => {
  it("mutates every check at least once", () => {
    const mutated = new Set(mutations.map(({ check }) => check));
    expect(Object.keys(boundaryChecks).filter((name) => !mutated.has(name as CheckName))).toEqual([]);
  });

  it.each(mutations)("$check: $what", ({ check, mutate, expected }) => {
    const copy = copyOf(repo);
    mutate(copy);
    const violations = boundaryChecks[check](copy);
    expect(
      violations.some((line) => expected.test(line)),
      violations.join("\n") || "(no violations)",
    ).toBe(true);
    expect(boundaryChecks[check](repo)).toEqual([]);
  });
});
