/**
 * `npm run plan:snapshot [-- <stack>...]`: rewrites infra/plan-snapshot/<stack>.json from the current
 * program (every stack when none is named). For a change meant to alter the plan: run it, read the
 * `git diff` of the snapshot, and commit both together.
 */
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { type StackName, stackNames } from "../../contracts/stacks";
import { runProgram } from "../offline-runner/runner";
import { snapshotOf, snapshotPath, writeSnapshot } from "./snapshot";

async function main(): Promise<number> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((stack) => !(stackNames as readonly string[]).includes(stack));
  if (unknown.length > 0) {
    console.error(`plan:snapshot: unknown stack "${unknown[0]}" (known: ${stackNames.join(", ")})`);
    return 2;
  }
  const written: string[] = [];
  for (const stack of (asked.length > 0 ? asked : stackNames) as StackName[]) {
    const { resources } = await runProgram({ stack });
    writeSnapshot(stack, snapshotOf(stack, resources));
    written.push(snapshotPath(stack));
    console.log(`Wrote ${snapshotPath(stack)} (${resources.length} resources).`);
  }
  // In the repository's format, so `npm test`'s `biome ci` passes and the diff shows only what changed.
  const biome = createRequire(__filename).resolve("@biomejs/biome/bin/biome");
  execFileSync(process.execPath, [biome, "format", "--write", ...written], { stdio: "ignore" });
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`plan:snapshot: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  },
);
