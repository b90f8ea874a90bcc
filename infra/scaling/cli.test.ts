import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { temporaryDirectory } from "../../tests/support/temporary-directory";
import { podServiceRate } from "./capacity";
import { capacityLine, parseOptions, run } from "./cli";
import { readMeasuredCapacity } from "./measured-capacity";
import { scalingPolicyFor } from "./policy";
import { scenario } from "./simulator/scenarios";

const exec = promisify(execFile);

describe("npm run scaling", () => {
  it("parses a stack with one scenario or all of them", () => {
    expect(parseOptions(["--stack", "prod", "--scenario", "spike"])).toMatchObject({
      stack: "prod",
      scenarios: ["spike"],
    });
    expect(parseOptions(["--stack", "dev", "--all"]).scenarios).toEqual([
      "baseline",
      "load",
      "stress",
      "spike",
      "growth",
    ]);
  });

  it.each([
    [["--scenario", "spike"], /^--stack is required/],
    [["--stack", "staging", "--all"], /^--stack "staging" is not a stack \(allowed: prod, dev\)$/],
    [
      ["--stack", "prod", "--scenario", "tsunami"],
      /^--scenario "tsunami" is not a scenario \(allowed: baseline, load, stress, spike, growth\)$/,
    ],
    [["--stack", "prod"], /^--scenario or --all is required/],
    [["--stack", "prod", "--all", "--scenario", "spike"], /^give --scenario or --all, not both/],
    [["--stack", "prod", "--all", "--colour"], /^Unknown option '--colour'/],
  ])("rejects %j with one readable line", (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(message);
  });

  it("prints the summary and cost tables and writes an SVG chart", () => {
    const outDir = temporaryDirectory("parley-scaling-");
    const { output, pass } = run({ stack: "prod", scenarios: ["spike"], outDir });
    expect(pass).toBe(true);
    expect(output).toMatch(/^scenario\s+peak users\s+peak req\/s\s+max replicas/m);
    const spike = scenario("spike", scalingPolicyFor("prod"));
    const peak = Math.round(spike.users(2 * 60)).toLocaleString("en-US");
    expect(output).toMatch(new RegExp(`^spike\\s+${peak}\\s+${peak}\\s.*PASS$`, "m"));
    expect(output).toMatch(/^total\s+[\d,]+\s+[\d,]+\s+[\d,]+$/m);
    expect(output).toMatch(/On-demand list prices, us-east-1, as of \d{4}-\d{2}-\d{2}/);
    const svg = readFileSync(join(outDir, "prod-spike.svg"), "utf8");
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg).toContain("Modelled p95 latency");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  it("reports a stack that misses the objectives and exits 1; bad input exits 2 with one line", async () => {
    const outDir = temporaryDirectory("parley-scaling-");
    const { output, pass } = run({ stack: "dev", scenarios: ["spike"], outDir });
    expect(pass).toBe(false);
    expect(output).toMatch(
      /^FAIL dev\/spike: \d+ req\/s needs \d+ (ready pods for p95 ≤ 200 ms|replicas at the HPA target \(\d+ req\/s per pod\)), but maxReplicas is 6/m,
    );
    expect(existsSync(join(outDir, "dev-spike.svg"))).toBe(true);

    const failure = await exec(join("node_modules", ".bin", "tsx"), [
      "infra/scaling/cli.ts",
      "--stack",
      "qa",
      "--all",
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toBe(
      'scaling: --stack "qa" is not a stack (allowed: prod, dev)\n',
    );
  });
});

describe("npm run scaling's capacity line", () => {
  it("shows the measured per-core capacity the policy uses, the run it came from, and the pod's rate", () => {
    const measured = readMeasuredCapacity();
    const prod = scalingPolicyFor("prod");
    const line = capacityLine(prod);
    const n = (value: number) => value.toLocaleString("en-US", { maximumFractionDigits: 0 });
    expect(line).toContain(
      `Per-pod capacity: ${n(measured.requestsPerSecondPerCore)} req/s per core, measured by npm run bench -- --write-capacity (infra/scaling/capacity-measurement.json: ${measured.date}, commit ${measured.commit}, ${measured.machine})`,
    );
    expect(line).toContain(
      `→ ${n(podServiceRate(prod))} req/s per pod at 500m, ${n(podServiceRate(prod) - Math.log(20) / 0.175)} within p95 ≤ 200 ms (modelled), HPA target ${n(prod.hpa.targetRequestsPerSecondPerPod)} req/s per pod`,
    );
    expect(line).toContain(
      `; a pod holds ${n(measured.memory.baseMiB)} MiB + ${measured.memory.miBPerRequestPerSecond} MiB per req/s (measured in the same run) of its 512 MiB memory request.`,
    );
    expect(line).toContain(
      measured.withinSloRequestsPerSecond > 0
        ? `served ${n(measured.withinSloRequestsPerSecond)} req/s on one core`
        : "No step of that run met p95 ≤ 200 ms on its machine.",
    );
  });

  it("is printed by npm run scaling", () => {
    const outDir = temporaryDirectory("parley-scaling-");
    const { output } = run({ stack: "dev", scenarios: ["baseline"], outDir });
    expect(output).toContain(capacityLine(scalingPolicyFor("dev")));
  });
});
