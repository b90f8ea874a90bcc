import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { requestsPerSecondPerCore } from "./capacity";
import { capacityLine, parseOptions, run } from "./cli";
import { readMeasuredCapacity } from "./measured-capacity";

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
    const outDir = mkdtempSync(join(tmpdir(), "parley-scaling-"));
    const { output, pass } = run({ stack: "prod", scenarios: ["spike"], outDir });
    expect(pass).toBe(true);
    expect(output).toMatch(/^scenario\s+peak users\s+peak req\/s\s+max replicas/m);
    expect(output).toMatch(/^spike\s+1,000\s+1,000\s.*PASS$/m);
    expect(output).toMatch(/^total\s+[\d,]+\s+[\d,]+\s+[\d,]+$/m);
    expect(output).toMatch(/On-demand list prices, us-east-1, as of \d{4}-\d{2}-\d{2}/);
    const svg = readFileSync(join(outDir, "prod-spike.svg"), "utf8");
    expect(svg.startsWith("<svg ")).toBe(true);
    expect(svg).toContain("Modelled p95 latency");
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  it("reports a stack that misses the objectives and exits 1; bad input exits 2 with one line", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "parley-scaling-"));
    const { output, pass } = run({ stack: "dev", scenarios: ["spike"], outDir });
    expect(pass).toBe(false);
    expect(output).toMatch(
      /^FAIL dev\/spike: 1000 req\/s needs \d+ ready pods for p95 ≤ 200 ms, but maxReplicas is 6$/m,
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
  it("shows the assumed per-core capacity and the last measured one with its run", () => {
    const measured = readMeasuredCapacity();
    const line = capacityLine();
    expect(line).toContain(
      `the policy assumes ${requestsPerSecondPerCore.toLocaleString("en-US")} req/s per core`,
    );
    expect(line).toContain(`${measured.date}, commit ${measured.commit}`);
    expect(line).toContain("not yet used by the policy");
  });
});
