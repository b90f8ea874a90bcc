/**
 * `npm run plan -- --stack <name> [--json <file>]`: the offline plan of a stack. Runs the Pulumi
 * program under mocks, prints the resource tree, the policy report, the scaling envelope and the
 * monthly cost; with --json also writes them (secrets redacted). Exit 0 when no mandatory policy is
 * violated, 1 when one is (or the program fails), 2 on a usage error.
 */
import { writeFileSync } from "node:fs";
import { type StackName, stackNames } from "../contracts/stacks";
import { buildPlan, mandatoryViolations } from "../policies/plan/build";
import { headline, planDocument, renderPlan } from "../policies/plan/render";

const usage = `usage: npm run plan -- --stack <${stackNames.join("|")}> [--json <file>]`;

class UsageError extends Error {}

interface Options {
  stack: StackName;
  json?: string;
}

function parseArgs(argv: string[]): Options | "help" {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== "--stack" && flag !== "--json") throw new UsageError(`unknown option "${arg}"`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === "" || value.startsWith("--"))
      throw new UsageError(`${flag} needs a value`);
    if (flag in values) throw new UsageError(`${flag} given twice`);
    values[flag] = value;
  }
  const stack = values["--stack"];
  if (stack === undefined) throw new UsageError("--stack is required");
  if (!(stackNames as readonly string[]).includes(stack)) {
    throw new UsageError(`unknown stack "${stack}" (known: ${stackNames.join(", ")})`);
  }
  return { stack: stack as StackName, ...(values["--json"] ? { json: values["--json"] } : {}) };
}

async function main(): Promise<number> {
  let options: Options | "help";
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`plan: ${error.message}; ${usage}`);
    return 2;
  }
  if (options === "help") {
    console.log(usage);
    return 0;
  }
  // First, before anything the program itself prints, say what kind of plan this is.
  console.log(`${headline(options.stack)}\n`);
  let plan: Awaited<ReturnType<typeof buildPlan>>;
  try {
    plan = await buildPlan(options.stack);
  } catch (error) {
    console.error(
      `plan: the Pulumi program failed for stack "${options.stack}": ${(error as Error).message}`,
    );
    return 1;
  }
  console.log(renderPlan(plan));
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(planDocument(plan), null, 2)}\n`);
    console.log(`Wrote ${options.json} (secrets redacted).`);
  }
  console.log(`Planned in ${process.uptime().toFixed(1)} s.`);
  return mandatoryViolations(plan).length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`plan: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  },
);
