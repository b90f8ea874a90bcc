/**
 * `npm test`: the formatter/linter, the type checker, the import-direction rules (dependency-cruiser,
 * docs/architecture.md), then every vitest project (unit, infra under Pulumi mocks, integration
 * against real servers). Ends with one plain line: `N passed, N failed`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rulesFile, sourceFolders } from "./dependency-rules";

interface Counts {
  passed: number;
  failed: number;
}

function check(title: string, command: string, args: string[]): boolean {
  const started = Date.now();
  console.log(`\n▶ ${title}: ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { stdio: "inherit" });
  const ok = result.status === 0;
  console.log(`${ok ? "✔" : "✘"} ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  return ok;
}

const counts: Counts = { passed: 0, failed: 0 };
const tally = (ok: boolean) => {
  if (ok) counts.passed++;
  else counts.failed++;
};

tally(check("lint and format (biome)", "npx", ["biome", "ci", "."]));
tally(check("typecheck (tsc)", "npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]));
tally(
  check("import direction (dependency-cruiser)", "npx", [
    "depcruise",
    "--config",
    rulesFile,
    "--output-type",
    "err",
    ...sourceFolders.filter((folder) => existsSync(folder)),
  ]),
);

const summaryDir = mkdtempSync(join(tmpdir(), "parley-test-"));
const summaryFile = join(summaryDir, "summary.json");
const vitestArgs = ["vitest", "run", ...process.argv.slice(2)];
const vitestOk = spawnSync("npx", vitestArgs, {
  stdio: "inherit",
  env: { ...process.env, PARLEY_TEST_SUMMARY: summaryFile },
});
try {
  const vitest = JSON.parse(readFileSync(summaryFile, "utf8")) as Counts;
  counts.passed += vitest.passed;
  counts.failed += vitest.failed;
  if (vitestOk.status !== 0 && vitest.failed === 0) counts.failed++;
} catch {
  // vitest died before reporting: count the run itself as one failure.
  counts.failed++;
}
rmSync(summaryDir, { recursive: true, force: true });

console.log(`\n${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed === 0 ? 0 : 1);
