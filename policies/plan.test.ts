/**
 * The offline plan for every stack, as CI runs it: `npm run plan -- --stack <name> --json <file>`
 * must exit 0 (no mandatory violation), state that it is offline, stay under 60 s for prod (two program runs: update and preview mode), and
 * write the JSON document with every secret redacted; every policy finds something to check and
 * the resources carry the stack's scaling policy. Also: the gate fails the real program when a
 * setting breaks a mandatory policy, and usage errors exit 2 with one readable line.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stackNames } from "../contracts/stacks";
import { isSecret, repositoryRoot, runProgram } from "../infra/offline-runner/runner";
import { scalingPolicyFor } from "../infra/scaling/policy";
import { plaintextStrings } from "../tests/support/infra/resources";
import { type PolicyViolation, policyResources } from "./offline";
import { buildPlan, mandatoryViolations } from "./plan/build";
import { renderPlan } from "./plan/render";
import { defaultAppName, deployedScalingPolicy, nodePoolType } from "./stack/scaling";

const tsx = path.join(repositoryRoot, "node_modules", ".bin", "tsx");
const outDir = mkdtempSync(path.join(tmpdir(), "parley-plan-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));
/** The CLI runs as a plain script: without vitest's variables the harness does not reach for vitest. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITEST")));

function plan(...args: string[]) {
  const started = Date.now();
  const result = spawnSync(tsx, ["scripts/plan.ts", ...args], { cwd: repositoryRoot, encoding: "utf8", env });
  return { ...result, seconds: (Date.now() - started) / 1000 };
}

/** Every string a Pulumi secret wraps, anywhere in a value. */
function secretStrings(value: unknown, insideSecret = false): string[] {
  if (isSecret(value)) return secretStrings(value.value, true);
  if (typeof value === "string") return insideSecret ? [value] : [];
  if (Array.isArray(value)) return value.flatMap((v) => secretStrings(v, insideSecret));
  if (typeof value === "object" && value !== null) {
    return Object.values(value).flatMap((v) => secretStrings(v, insideSecret));
  }
  return [];
}

describe.each(stackNames)("npm run plan -- --stack %s", (stack) => {
  const json = path.join(outDir, `${stack}.json`);
  let run: ReturnType<typeof plan>;
  let program: ReturnType<typeof runProgram> | undefined;
  const registrations = () => {
    program ??= runProgram({ stack });
    return program;
  };

  it("passes the policy gate, states that it is offline, and finishes in time", () => {
    run = plan("--stack", stack, "--json", json);
    // stderr may carry the program's own Pulumi warnings; the plan's errors start with "plan:".
    expect(run.stderr).not.toMatch(/^plan:/m);
    expect(run.status, run.stdout).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^Offline plan for stack "${stack}": .*mocked cloud outputs`));
    expect(lines[2]).toMatch(/^Resources \(\d+: /);
    expect(lines[3]).toBe(`pulumi:pulumi:Stack  parley-${stack}`);
    expect(run.stdout).toMatch(
      /Policy report \(pack config policies\/config\/\w+\.json\): 0 mandatory, \d+ advisory/,
    );
    // The same pack over a preview-mode run (computed outputs unknown): every mandatory policy decides.
    expect(run.stdout).toMatch(
      /Policy report in preview mode \(computed outputs unknown, as `pulumi preview` sees them\): 0 mandatory, \d+ advisory/,
    );
    expect(run.stdout).toMatch(/Scaling envelope[^\n]*\n {2}app pods {6}\d+–\d+ replicas/);
    expect(run.stdout).toMatch(
      /Monthly cost \(on-demand list prices[^\n]*\n.*min \(\d+ pods\).*typical.*max/,
    );
    expect(run.stdout).toContain("OK: no mandatory policy violation.");
    // A generous bound (two program runs, update and preview mode: about 30 s on an idle machine): a plan that takes
    // minutes is a regression worth failing on, a busy machine is not.
    if (stack === "prod") expect(run.seconds).toBeLessThan(120);
  });

  it("writes the JSON document with secrets redacted", async () => {
    const text = readFileSync(json, "utf8");
    const document = JSON.parse(text);
    expect(document).toMatchObject({ stack, offline: true });
    expect(
      document.violations.every((v: { enforcementLevel: string }) => v.enforcementLevel === "advisory"),
    ).toBe(true);
    // Every policy of the pack has something to check in the program.
    expect(document.notApplicable).toEqual([]);
    expect(Object.keys(document.cost)).toEqual(["min", "typical", "max"]);
    expect(document.cost.max.totalMonthlyUsd).toBeGreaterThan(document.cost.min.totalMonthlyUsd);
    const resources: Array<{ urn: string; type: string; inputs: unknown }> = document.resources;
    expect(resources.length).toBeGreaterThan(100);
    for (const r of resources) expect(Object.keys(r)).toEqual(["urn", "type", "name", "parent", "inputs"]);

    const { resources: registered } = await registrations();
    // Strings that exist only inside secrets (a secret Helm values object also holds "gp3" and the like).
    const plain = new Set(registered.flatMap((r) => plaintextStrings(r.inputs)));
    const secrets = registered.flatMap((r) => secretStrings(r.inputs)).filter((value) => !plain.has(value));
    expect(secrets.length).toBeGreaterThan(0);
    const values = new Set(plaintextStrings(document));
    for (const secret of secrets) {
      expect(values.has(secret), "a secret is a value of the document").toBe(false);
      // Long secrets (passwords, tokens, connection URLs) must not appear even inside another string.
      if (secret.length >= 12) expect(text).not.toContain(secret);
    }
    expect(text).toContain('"[secret]"');
  });

  it("reads back the stack's scaling policy from its resources (the envelope is what they declare)", async () => {
    const { resources: registered } = await registrations();
    const named = (type: string) =>
      registered.filter(
        (r) => r.type === type && (r.inputs.metadata as { name?: string })?.name === defaultAppName,
      );
    expect(named("kubernetes:apps/v1:Deployment")).toHaveLength(1);
    expect(named("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")).toHaveLength(1);
    expect(named("kubernetes:policy/v1:PodDisruptionBudget")).toHaveLength(1);
    expect(registered.filter((r) => r.type === nodePoolType)).toHaveLength(1);
    const declared = scalingPolicyFor(stack);
    expect(deployedScalingPolicy(declared, policyResources(registered), defaultAppName)).toEqual(declared);
  });
});

describe("the policy gate on the real program", () => {
  it("fails a dev stack whose EKS API is opened to the world (the config allows it in dev)", async () => {
    const key = (v: PolicyViolation) => `${v.policyName} ${v.resourceName} ${v.message}`;
    const baseline = new Set(mandatoryViolations(await buildPlan("dev")).map(key));
    const plan = await buildPlan("dev", { "parley:clusterApiAllowedCidrs": JSON.stringify(["0.0.0.0/0"]) });
    const fresh = mandatoryViolations(plan).filter((v) => !baseline.has(key(v)));
    // Both the update run and the preview run report it.
    expect(fresh).toHaveLength(2);
    expect([...new Map(fresh.map((v) => [key(v), v])).values()]).toEqual([
      expect.objectContaining({
        policyName: "eks-endpoint-restricted",
        resourceType: "aws:eks/cluster:Cluster",
        message: "vpcConfig.publicAccessCidrs opens the public endpoint to the world (0.0.0.0/0).",
      }),
    ]);
    const text = renderPlan(plan);
    expect(text).toMatch(new RegExp(`: ${baseline.size + 1} mandatory, \\d+ advisory`));
    expect(text).toContain("  mandatory eks-endpoint-restricted  aws:eks/cluster:Cluster parley-dev");
    // The verdict counts both runs' mandatory violations.
    expect(text.trimEnd().split("\n").pop()).toBe(
      `FAILED: ${mandatoryViolations(plan).length} mandatory policy violation(s).`,
    );
    expect(mandatoryViolations(plan).length).toBe(baseline.size + 2);
  });
});

describe("plan usage errors", () => {
  it.each([
    [["--stack", "staging"], 'plan: unknown stack "staging" (known: prod, dev)'],
    [["--stack"], "plan: --stack needs a value"],
    [["--stak", "prod"], 'plan: unknown option "--stak"'],
    [[], "plan: --stack is required"],
  ])("%j exits 2 with one line", (args, message) => {
    const run = plan(...args);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringContaining(message)]);
    expect(run.stderr).toContain("usage: npm run plan -- --stack <prod|dev> [--json <file>]");
  });
});
