import { readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { contracts } from "./contracts";
import { gates, pulumiCliMatchesSdk, pulumiOperations } from "./gates";
import {
  clonePipeline,
  ghExpression,
  type Job,
  loadPipeline,
  type Pipeline,
  type Step,
  workflowNamed,
} from "./pipeline";

const pipeline = loadPipeline();
const sdkVersion: string = JSON.parse(readFileSync("package.json", "utf8")).dependencies["@pulumi/pulumi"];
const checks = {
  ...gates,
  ...contracts,
  pulumiCliMatchesSdk: (p: Pipeline) => pulumiCliMatchesSdk(p, sdkVersion),
};
type CheckName = keyof typeof checks;

function job(copy: Pipeline, file: string, id: string): Job {
  const found = workflowNamed(copy, file).jobs[id];
  if (!found) throw new Error(`no job ${id} in ${file}`);
  return found;
}

function step(copy: Pipeline, file: string, id: string, match: (step: Step) => boolean): Step {
  const found = job(copy, file, id).steps?.find(match);
  if (!found) throw new Error(`no such step in ${file} job ${id}`);
  return found;
}

const pulumiStep = (candidate: Step) => candidate.uses?.startsWith("pulumi/actions@") ?? false;

function editText(copy: Pipeline, file: string, edit: (text: string) => string) {
  const target = [...copy.workflows, ...copy.actions].find(({ path }) => path.endsWith(file));
  if (!target) throw new Error(`no ${file}`);
  const edited = edit(target.text);
  if (edited === target.text) throw new Error(`the edit left ${file} unchanged`);
  target.text = edited;
}

function editScript(copy: Pipeline, name: string, edit: (text: string) => string) {
  const path = `.github/scripts/${name}`;
  const text = copy.scripts.get(path) ?? "";
  const edited = edit(text);
  if (edited === text) throw new Error(`the edit left ${path} unchanged`);
  copy.scripts.set(path, edited);
}

describe("the pipeline", () => {
  it("has the six workflows and a composite action", () => {
    expect(pipeline.workflows.map(({ path }) => path)).toEqual([
      ".github/workflows/app-release.yml",
      ".github/workflows/ci.yml",
      ".github/workflows/deploy.yml",
      ".github/workflows/drift.yml",
      ".github/workflows/preview.yml",
      ".github/workflows/rollback.yml",
    ]);
    expect(pipeline.actions.map(({ path }) => path)).toEqual([".github/actions/setup/action.yml"]);
  });

  it("runs Pulumi previews and ups the gates can see (they are not vacuous)", () => {
    const summary = pulumiOperations(pipeline)
      .filter(({ command }) => command !== "install")
      .map(
        ({ file, jobId, command, stacks }) => `${file.path.split("/").pop()} ${jobId} ${command} ${stacks}`,
      );
    expect(summary.sort()).toEqual([
      "deploy.yml plan-dev preview dev",
      "deploy.yml plan-prod preview prod",
      "deploy.yml up-dev up dev",
      "deploy.yml up-prod up prod",
      "drift.yml check preview dev,prod",
      "preview.yml preview preview dev,prod",
    ]);
  });

  it("runs only scripts that exist, shell scripts executable", () => {
    const called = pipeline.workflows.flatMap(({ text }) =>
      [...text.matchAll(/\.github\/scripts\/[\w.-]+/g)].map(([path]) => path),
    );
    expect(called.length).toBeGreaterThan(0);
    for (const path of new Set(called)) {
      expect(pipeline.scripts.has(path), path).toBe(true);
      if (path.endsWith(".sh")) expect(statSync(path).mode & 0o111, `${path} is not executable`).not.toBe(0);
    }
  });

  it.each(Object.keys(checks) as CheckName[])("holds %s", (name) => {
    expect(checks[name](pipeline)).toEqual([]);
  });
});

interface Mutation {
  check: CheckName;
  what: string;
  mutate: (copy: Pipeline) => void;
  expected: RegExp;
}

const mutations: Mutation[] = [
  {
    check: "actionsPinned",
    what: "an action on a tag",
    mutate: (copy) =>
      editText(copy, "deploy.yml", (text) => text.replace(/checkout@[0-9a-f]{40}/, "checkout@v4")),
    expected: /deploy\.yml:\d+: actions\/checkout@v4 is not pinned to a full commit SHA/,
  },
  {
    check: "actionsPinned",
    what: "a pinned action without its version comment",
    mutate: (copy) =>
      editText(copy, "ci.yml", (text) => text.replace(/(upload-artifact@[0-9a-f]{40}) # v[\d.]+/, "$1")),
    expected: /ci\.yml:\d+: actions\/upload-artifact@[0-9a-f]{40} has no "# vX\.Y\.Z" comment/,
  },
  {
    check: "actionsPinned",
    what: "a composite action on a branch",
    mutate: (copy) =>
      editText(copy, "action.yml", (text) => text.replace(/setup-node@[0-9a-f]{40}/, "setup-node@main")),
    expected: /setup\/action\.yml:\d+: actions\/setup-node@main is not pinned/,
  },
  {
    check: "actionsPinned",
    what: "a local action that does not exist",
    mutate: (copy) =>
      editText(copy, "ci.yml", (text) =>
        text.replace("./.github/actions/setup", "./.github/actions/missing"),
      ),
    expected: /ci\.yml:\d+: \.\/\.github\/actions\/missing\/action\.yml does not exist/,
  },
  {
    check: "onlyPreviewAndUp",
    what: "a destroy",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-dev", pulumiStep).with!.command = "destroy";
    },
    expected: /deploy\.yml job up-dev: runs "pulumi destroy"/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "a PR preview without the policy pack",
    mutate: (copy) => {
      delete step(copy, "preview.yml", "preview", pulumiStep).with!.policyPacks;
    },
    expected: /preview\.yml job preview: preview \(action\) runs without the policy pack "policies"/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "a PR preview with the base gate's pack but the PR's own config",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", pulumiStep).with!.policyPackConfigs =
        `policies/config/${ghExpression("matrix.stack")}.json`;
    },
    expected:
      /preview\.yml job preview: preview \(action\) on dev runs without the pack config \.gate\/policies\/config\/dev\.json/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "the prod up with another pack",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", pulumiStep).with!.policyPacks = "other-pack";
    },
    expected: /deploy\.yml job up-prod: up \(action\) runs without the policy pack/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "the drift preview (CLI, in a script) without the policy pack",
    mutate: (copy) =>
      editScript(copy, "drift-check.sh", (text) => text.replace(" --policy-pack policies", "")),
    expected: /drift\.yml job check: preview \(cli\) runs without the policy pack/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "the prod up with dev's pack config",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", pulumiStep).with!.policyPackConfigs = "policies/config/dev.json";
    },
    expected:
      /deploy\.yml job up-prod: up \(action\) on prod runs without the pack config policies\/config\/prod\.json/,
  },
  {
    check: "policyPackOnEveryPreviewAndUp",
    what: "the drift preview without its pack config",
    mutate: (copy) =>
      editScript(copy, "drift-check.sh", (text) =>
        text.replace('--policy-pack-config "policies/config/$stack.json" ', ""),
      ),
    expected:
      /drift\.yml job check: preview \(cli\) on dev runs without the pack config policies\/config\/dev\.json/,
  },
  {
    check: "upsNameTheirStack",
    what: "an up on a stack chosen at run time",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", pulumiStep).with!["stack-name"] = ghExpression("inputs.stack");
    },
    expected: /deploy\.yml job up-prod: an up must run through pulumi\/actions with one literal stack-name/,
  },
  {
    check: "upsNameTheirStack",
    what: "an up through the CLI",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-dev").steps!.push({
        run: "pulumi up --stack prod --policy-pack policies --yes",
      });
    },
    expected: /deploy\.yml job up-dev: an up must run through pulumi\/actions .*found: cli/,
  },
  {
    check: "upsUseTheirEnvironment",
    what: "the prod up without its environment",
    mutate: (copy) => {
      delete job(copy, "deploy.yml", "up-prod").environment;
    },
    expected: /deploy\.yml job up-prod: up on prod runs in environment \(none\), expected prod/,
  },
  {
    check: "upsUseTheirEnvironment",
    what: "the prod up in the dev environment",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-prod").environment = { name: "dev" };
    },
    expected: /up on prod runs in environment dev, expected prod/,
  },
  {
    check: "devBeforeProd",
    what: "prod not waiting for dev",
    mutate: (copy) => {
      delete job(copy, "deploy.yml", "up-prod").needs;
    },
    expected: /deploy\.yml job up-prod: up on prod does not wait for an up on dev/,
  },
  {
    check: "oneConcurrencyGroupPerStack",
    what: "an up that may be cancelled mid-update",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-prod").concurrency = {
        group: "pulumi-stack-prod",
        "cancel-in-progress": true,
      };
    },
    expected: /deploy\.yml job up-prod: its up needs a job concurrency group with cancel-in-progress: false/,
  },
  {
    check: "oneConcurrencyGroupPerStack",
    what: "two stacks in one group",
    mutate: (copy) => {
      job(copy, "drift.yml", "check").concurrency = { group: "pulumi-stacks", "cancel-in-progress": false };
    },
    expected: /concurrency group "pulumi-stacks" is shared by stacks dev, prod/,
  },
  {
    check: "oneConcurrencyGroupPerStack",
    what: "the drift check in a group of its own (it could run during a deploy)",
    mutate: (copy) => {
      job(copy, "drift.yml", "check").concurrency = {
        group: `drift-${ghExpression("matrix.stack")}`,
        "cancel-in-progress": false,
      };
    },
    expected: /stack (dev|prod) is locked under two concurrency groups: .*drift-(dev|prod)/,
  },
  {
    check: "oneConcurrencyGroupPerStack",
    what: "the prod plan outside prod's group",
    mutate: (copy) => {
      delete job(copy, "deploy.yml", "plan-prod").concurrency;
    },
    expected:
      /deploy\.yml job plan-prod: its preview needs a job concurrency group with cancel-in-progress: false/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "the release branch pushed to main",
    mutate: (copy) =>
      editScript(copy, "open-release-pr.sh", (text) =>
        text.replace(
          'git push --force origin "HEAD:refs/heads/$branch"',
          "git push --force origin HEAD:refs/heads/main",
        ),
      ),
    expected:
      /app-release\.yml job propose: "git push --force origin HEAD:refs\/heads\/main" does not push HEAD to a named non-default branch/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "a pushed tag change without a PR",
    mutate: (copy) =>
      editScript(copy, "open-release-pr.sh", (text) =>
        text.replace(/url=\$\(gh pr create [^\n]*\n/, "url=none\n"),
      ),
    expected: /app-release\.yml job propose: pushes a branch but opens no pull request for it/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "the deploy job setting the tag itself",
    mutate: (copy) => {
      job(copy, "deploy.yml", "up-prod").steps!.unshift({
        run: "npx tsx .github/scripts/set-image-tag.ts sha-1 Pulumi.prod.yaml\ngit commit -am tag",
      });
    },
    expected: /deploy\.yml job up-prod: edits stack config in a job that opens no pull request/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "config passed to the up outside git",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", pulumiStep).with!["config-map"] = "{parley:imageTag: {value: x}}";
    },
    expected: /deploy\.yml job up-prod: sets stack config outside git/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "pulumi config set in a step",
    mutate: (copy) => {
      job(copy, "drift.yml", "check").steps!.push({
        run: "pulumi config set parley:imageTag x --stack prod",
      });
    },
    expected: /drift\.yml job check: sets stack config outside git/,
  },
  {
    check: "imageTagsOnlyThroughPullRequests",
    what: "the release PR auto-merged",
    mutate: (copy) =>
      editScript(copy, "open-release-pr.sh", (text) => `${text}\ngh pr merge --auto "$number"\n`),
    expected: /app-release\.yml job propose: merges a pull request/,
  },
  {
    check: "leastPrivilege",
    what: "a write scope no step needs",
    mutate: (copy) => {
      job(copy, "ci.yml", "test").permissions = { contents: "read", packages: "write" };
    },
    expected: /ci\.yml job test: packages: write is not needed by any pipeline step/,
  },
  {
    check: "leastPrivilege",
    what: "issues: write on the preview job",
    mutate: (copy) => {
      const permissions = job(copy, "preview.yml", "preview").permissions as Record<string, string>;
      permissions.issues = "write";
    },
    expected:
      /preview\.yml job preview: issues: write is granted \(opening or updating issues\) but no step of the job uses it/,
  },
  {
    check: "leastPrivilege",
    what: "contents: write on a deploy job",
    mutate: (copy) => {
      const permissions = job(copy, "deploy.yml", "up-dev").permissions as Record<string, string>;
      permissions.contents = "write";
    },
    expected:
      /deploy\.yml job up-dev: contents: write is granted \(pushing a branch\) but no step of the job uses it/,
  },
  {
    check: "leastPrivilege",
    what: "id-token: write without an AWS role or a Pulumi token",
    mutate: (copy) => {
      const steps = job(copy, "drift.yml", "check").steps!;
      for (const prefix of ["aws-actions/", "pulumi/auth-actions@"]) {
        steps.splice(
          steps.findIndex((s) => s.uses?.startsWith(prefix)),
          1,
        );
      }
    },
    expected:
      /drift\.yml job check: id-token: write is granted \(an OIDC token for AWS, Pulumi Cloud or keyless signing\) but no step of the job uses it/,
  },
  {
    check: "leastPrivilege",
    what: "write-all for the whole workflow",
    mutate: (copy) => {
      workflowNamed(copy, "drift.yml").permissions = "write-all";
    },
    expected: /drift\.yml: workflow-level permissions must be \{\} or read-only/,
  },
  {
    check: "leastPrivilege",
    what: "a job without a permissions map",
    mutate: (copy) => {
      delete job(copy, "app-release.yml", "publish").permissions;
    },
    expected: /app-release\.yml job publish: declares no permissions map/,
  },
  {
    check: "checkoutsDropCredentials",
    what: "a checkout that keeps the token",
    mutate: (copy) => {
      delete step(copy, "app-release.yml", "propose", (s) => s.uses?.startsWith("actions/checkout@") ?? false)
        .with;
    },
    expected: /app-release\.yml job propose: checkout without persist-credentials: false/,
  },
  {
    check: "credentialsOnlyFromSecretsAndOidc",
    what: "a Pulumi token written into the workflow",
    mutate: (copy) => {
      step(copy, "deploy.yml", "up-prod", pulumiStep).env = { PULUMI_ACCESS_TOKEN: "hard-coded" };
    },
    expected: /deploy\.yml job up-prod: PULUMI_ACCESS_TOKEN is not taken from secrets\.\* or github\.token/,
  },
  {
    check: "credentialsOnlyFromSecretsAndOidc",
    what: "AWS access keys instead of a role",
    mutate: (copy) => {
      const aws = step(copy, "preview.yml", "preview", (s) => s.uses?.startsWith("aws-actions/") ?? false);
      aws.with = { ...aws.with, "aws-access-key-id": ghExpression("secrets.AWS_KEY") };
    },
    expected: /preview\.yml job preview: passes aws-access-key-id; AWS access goes through OIDC roles/,
  },
  {
    check: "credentialsOnlyFromSecretsAndOidc",
    what: "pull_request_target",
    mutate: (copy) => {
      workflowNamed(copy, "preview.yml").on.pull_request_target = {};
    },
    expected: /preview\.yml: runs on pull_request_target/,
  },
  {
    check: "pulumiCliMatchesSdk",
    what: "another Pulumi CLI version",
    mutate: (copy) => {
      step(copy, "drift.yml", "check", pulumiStep).with!["pulumi-version"] = "3.100.0";
    },
    expected: /drift\.yml job check: pulumi-version 3\.100\.0 is not the SDK's/,
  },
  {
    check: "ciContract",
    what: "ci planning only prod",
    mutate: (copy) => {
      job(copy, "ci.yml", "plan").strategy = { matrix: { stack: ["prod"] } };
    },
    expected: /ci\.yml's offline plan covers \[prod\], expected every stack \[dev,prod\]/,
  },
  {
    check: "ciContract",
    what: "ci on every push as well as every PR (twice per PR change)",
    mutate: (copy) => {
      workflowNamed(copy, "ci.yml").on.push = {};
    },
    expected: /ci\.yml must run on every push to main, and on no other push/,
  },
  {
    check: "ciContract",
    what: "ci path-filtered on PRs (a required check that never reports)",
    mutate: (copy) => {
      workflowNamed(copy, "ci.yml").on.pull_request = { paths: ["app/**"] };
    },
    expected: /ci\.yml does not run on every pull_request/,
  },
  {
    check: "previewContract",
    what: "preview path-filtered again (a required check that never reports)",
    mutate: (copy) => {
      workflowNamed(copy, "preview.yml").on.pull_request = { paths: ["infra/**"] };
    },
    expected: /preview\.yml does not run on every pull_request \(its checks are required\)/,
  },
  {
    check: "previewContract",
    what: "preview without the PR comment",
    mutate: (copy) => {
      step(copy, "preview.yml", "preview", pulumiStep).with!["comment-on-pr"] = false;
    },
    expected: /preview\.yml job preview does not comment on the PR/,
  },
  {
    check: "deployContract",
    what: "deploy from any branch",
    mutate: (copy) => {
      (workflowNamed(copy, "deploy.yml").on.push as { branches: string[] }).branches = ["**"];
    },
    expected: /deploy\.yml must run on pushes to main, and only main/,
  },
  {
    check: "deployContract",
    what: "deploy not triggered by stack config (the image tag)",
    mutate: (copy) => {
      const push = workflowNamed(copy, "deploy.yml").on.push as { paths: string[] };
      push.paths = push.paths.filter((path) => path !== "Pulumi.*.yaml");
    },
    expected: /deploy\.yml is not triggered by Pulumi\.\*\.yaml/,
  },
  {
    check: "deployContract",
    what: "a manual deploy from a branch",
    mutate: (copy) => {
      delete job(copy, "deploy.yml", "plan-dev").if;
    },
    expected: /deploy\.yml job up-dev can run from a branch other than main/,
  },
  {
    check: "appReleaseContract",
    what: "a release from a branch",
    mutate: (copy) => {
      job(copy, "app-release.yml", "test").if = ghExpression("always()");
    },
    expected: /app-release\.yml job publish can release from a branch/,
  },
  {
    check: "appReleaseContract",
    what: "a stack left out of the image-tag PR",
    mutate: (copy) => {
      const set = step(copy, "app-release.yml", "propose", (s) => /set-image-tag/.test(s.run ?? ""));
      set.run = set.run?.replace(" Pulumi.prod.yaml", "");
    },
    expected:
      /app-release\.yml's "npx tsx \.github\/scripts\/set-image-tag\.ts .*" covers \[dev\], expected every stack/,
  },
  {
    check: "appReleaseContract",
    what: "the image pushed before the tests",
    mutate: (copy) => {
      delete job(copy, "app-release.yml", "publish").needs;
    },
    expected: /app-release\.yml job publish pushes an image before npm test passed/,
  },
  {
    check: "appReleaseContract",
    what: "the PR opened before the image exists",
    mutate: (copy) => {
      job(copy, "app-release.yml", "propose").needs = "test";
    },
    expected: /app-release\.yml job propose opens the PR before the image is pushed/,
  },
  {
    check: "appReleaseContract",
    what: "long-lived AWS keys",
    mutate: (copy) => {
      step(copy, "app-release.yml", "publish", (s) => s.id === "push").env = {
        AWS_ACCESS_KEY_ID: ghExpression("secrets.AWS_ACCESS_KEY_ID"),
      };
    },
    expected: /app-release\.yml must reach ECR through AWS OIDC, without access keys/,
  },
  {
    check: "driftContract",
    what: "drift checked without --expect-no-changes",
    mutate: (copy) =>
      editScript(copy, "drift-check.sh", (text) =>
        text.replace("--refresh --expect-no-changes --diff", "--refresh --diff"),
      ),
    expected: /drift\.yml's preview --refresh --expect-no-changes covers \[\], expected every stack/,
  },
  {
    check: "driftContract",
    what: "the issue report skipped when a check fails",
    mutate: (copy) => {
      delete job(copy, "drift.yml", "report").if;
    },
    expected: /drift\.yml job report must run after the checks, also when they fail/,
  },
  {
    check: "driftContract",
    what: "no nightly schedule",
    mutate: (copy) => {
      delete workflowNamed(copy, "drift.yml").on.schedule;
    },
    expected: /drift\.yml has no schedule/,
  },
];

describe("each check fails on a mutated copy of the pipeline", () => {
  it("mutates every check at least once", () => {
    const mutated = new Set(mutations.map(({ check }) => check));
    expect(Object.keys(checks).filter((name) => !mutated.has(name as CheckName))).toEqual([]);
  });

  it.each(mutations)("$check: $what", ({ check, mutate, expected }) => {
    const copy = clonePipeline(pipeline);
    mutate(copy);
    const violations = checks[check](copy);
    expect(
      violations.some((line) => expected.test(line)),
      violations.join("\n") || "(no violations)",
    ).toBe(true);
    // The original is untouched: the mutation is what the check caught.
    expect(checks[check](pipeline)).toEqual([]);
  });
});
