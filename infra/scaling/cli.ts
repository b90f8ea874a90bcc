/**
 * `npm run scaling -- --stack prod --scenario spike` (or `--all`): simulates the stack's scaling
 * policy, prints a summary table and the monthly cost, and writes an SVG chart per scenario to
 * dist/scaling/<stack>-<scenario>.svg. Exit 0 when every run meets the objectives, 1 when one
 * misses them, 2 on bad input.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { type StackName, stackNames } from "../../contracts/stacks";
import { podServiceRate, sloRatePerPod } from "./capacity";
import { costScales, estimateMonthlyCost } from "./cost";
import { type MeasuredCapacity, readMeasuredCapacity } from "./measured-capacity";
import { type ScalingPolicy, scalingPolicyFor } from "./policy";
import { renderChart } from "./simulator/chart";
import { type RunSummary, summarize, type Verdict, verdict } from "./simulator/evaluate";
import { type ScenarioName, scenario, scenarioNames } from "./simulator/scenarios";
import { simulate } from "./simulator/simulate";

class UsageError extends Error {}

const usage = `usage: npm run scaling -- --stack <${stackNames.join("|")}> (--scenario <${scenarioNames.join("|")}> | --all) [--out <dir>]`;

interface Options {
  stack: StackName;
  scenarios: ScenarioName[];
  outDir: string;
}

function isOneOf<T extends string>(values: readonly T[], value: string): value is T {
  return (values as readonly string[]).includes(value);
}

export function parseOptions(argv: string[]): Options {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        scenario: { type: "string" },
        all: { type: "boolean", default: false },
        out: { type: "string", default: join("dist", "scaling") },
      },
      strict: true,
      allowPositionals: false,
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split("\n")[0]} — ${usage}`);
  }
  const { stack, scenario: name, all, out } = parsed.values;
  if (stack === undefined) throw new UsageError(`--stack is required — ${usage}`);
  if (!isOneOf(stackNames, stack)) {
    throw new UsageError(`--stack "${stack}" is not a stack (allowed: ${stackNames.join(", ")})`);
  }
  if (all && name !== undefined) throw new UsageError(`give --scenario or --all, not both — ${usage}`);
  if (!all && name === undefined) throw new UsageError(`--scenario or --all is required — ${usage}`);
  if (name !== undefined && !isOneOf(scenarioNames, name)) {
    throw new UsageError(`--scenario "${name}" is not a scenario (allowed: ${scenarioNames.join(", ")})`);
  }
  return {
    stack,
    scenarios: name === undefined ? [...scenarioNames] : [name],
    outDir: out ?? join("dist", "scaling"),
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const number = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "never";

export function summaryTable(runs: Array<{ summary: RunSummary; verdict: Verdict }>): string {
  const header = [
    "scenario",
    "peak users",
    "peak req/s",
    "max replicas",
    "max nodes",
    "peak CPU %",
    "max p95 ms",
    "min > SLO",
    "to capacity s",
    "scale-down s",
    "$/month",
    "result",
  ];
  const rows = runs.map(({ summary: s, verdict: v }) => [
    s.scenario,
    number(s.peakUsers),
    number(s.peakRps),
    String(s.maxReplicas),
    String(s.maxNodes),
    number(s.peakCpuUtilizationPercent),
    number(s.maxP95Ms),
    number(s.minutesOutsideSlo, 1),
    number(s.timeToCapacitySeconds),
    number(s.scaleDownSeconds),
    number(s.monthlyEquivalentUsd),
    v.pass ? "PASS" : "FAIL",
  ]);
  return table(header, rows);
}

/** The per-pod capacity the policy uses, and the bench run it was measured in. */
export function capacityLine(policy: ScalingPolicy): string {
  const m = readMeasuredCapacity();
  return `Per-pod capacity: ${number(policy.capacity.requestsPerSecondPerCore)} req/s per core, measured by npm run bench -- --write-capacity (infra/scaling/capacity-measurement.json: ${m.date}, commit ${m.commit}, ${m.machine}) → ${number(podServiceRate(policy))} req/s per pod at ${policy.pods.cpuRequestMillicores}m, ${number(sloRatePerPod(policy))} within p95 ≤ ${policy.objectives.p95LatencyMs} ms (modelled), HPA target ${number(policy.hpa.targetRequestsPerSecondPerPod)} req/s per pod; a pod holds ${memoryText(policy)} (measured in the same run) of its ${policy.pods.memoryRequestMiB} MiB memory request. ${withinSlo(m)}`;
}

/** The measured memory line, e.g. "188 MiB + 0.0024 MiB per req/s". */
function memoryText({ capacity }: ScalingPolicy): string {
  const { baseMiB, miBPerRequestPerSecond } = capacity.memory;
  return `${number(baseMiB)} MiB + ${miBPerRequestPerSecond} MiB per req/s`;
}

/** What the measured run observed within the p95 objective: a check on the model, not an input. */
function withinSlo(m: MeasuredCapacity): string {
  return m.withinSloRequestsPerSecond > 0
    ? `The same run's highest step within p95 ≤ ${m.sloP95Ms} ms served ${number(m.withinSloRequestsPerSecond)} req/s on one core.`
    : `No step of that run met p95 ≤ ${m.sloP95Ms} ms on its machine.`;
}

function costTable(policy: ScalingPolicy): string {
  const estimates = costScales.map((scale) => estimateMonthlyCost(policy, scale));
  const items = estimates[0].lines.map((line) => line.item);
  const rows = items.map((item) => [
    item,
    ...estimates.map((e) => number(e.lines.find((line) => line.item === item)?.monthlyUsd ?? 0)),
  ]);
  rows.push(["total", ...estimates.map((e) => number(e.totalMonthlyUsd))]);
  const header = ["monthly cost (USD)", ...estimates.map((e) => `${e.scale} (${e.replicas} pods)`)];
  return `${table(header, rows)}\nOn-demand list prices, ${estimates[0].region}, as of ${estimates[0].pricesAsOf} (infra/scaling/pricing.ts).`;
}

export function run(options: Options): { output: string; pass: boolean } {
  const policy = scalingPolicyFor(options.stack);
  mkdirSync(options.outDir, { recursive: true });
  const runs = options.scenarios.map((name) => {
    const result = simulate(policy, scenario(name, policy));
    const summary = summarize(policy, result);
    const outcome = verdict(policy, summary, result);
    const file = join(options.outDir, `${options.stack}-${name}.svg`);
    writeFileSync(file, renderChart(policy, result, summary, outcome.pass));
    return { summary, verdict: outcome, file };
  });
  const { objectives } = policy;
  const lines = [
    `Scaling simulation — stack ${options.stack}: ${policy.pods.minReplicas}–${policy.pods.maxReplicas} replicas; objectives p95 ≤ ${objectives.p95LatencyMs} ms, scale up ≤ ${objectives.scaleUpSeconds} s, scale down ≤ ${objectives.scaleDownSeconds} s`,
    "",
    summaryTable(runs),
    "",
    ...runs.flatMap((r) => r.verdict.reasons.map((reason) => `FAIL ${reason}`)),
    ...runs.map((r) => `chart: ${relative(process.cwd(), r.file) || r.file}`),
    "",
    costTable(policy),
    capacityLine(policy),
  ];
  return { output: lines.join("\n"), pass: runs.every((r) => r.verdict.pass) };
}

function main(): void {
  try {
    const { output, pass } = run(parseOptions(process.argv.slice(2)));
    console.log(output);
    process.exitCode = pass ? 0 : 1;
  } catch (error) {
    console.error(`scaling: ${(error as Error).message}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) main();
