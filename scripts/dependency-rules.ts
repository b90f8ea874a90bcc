/**
 * Runs dependency-cruiser with the repository's layer rules (.dependency-cruiser.cjs, drawn in
 * docs/architecture.md) over the source folders of `cwd`; used by `npm test` and by the test that
 * plants violations in a fixture.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..");
export const rulesFile = join(root, ".dependency-cruiser.cjs");
const depcruise = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs");

/** Every folder that holds TypeScript the rules speak of (observability/ once it exists). */
export const sourceFolders = [
  "contracts",
  "app",
  "web",
  "infra",
  "policies",
  "alerts",
  "dashboards",
  "observability",
  "scripts",
  "tests",
  ".github",
];

export interface Violation {
  rule: string;
  from: string;
  to: string;
}

/** The violations in `cwd`'s source folders; throws when depcruise itself fails. */
export function dependencyViolations(cwd: string): Violation[] {
  const folders = sourceFolders.filter((folder) => existsSync(join(cwd, folder)));
  const result = spawnSync(
    process.execPath,
    [depcruise, "--config", rulesFile, "--output-type", "json", ...folders],
    { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  if (!result.stdout)
    throw new Error(`depcruise failed: ${result.stderr.trim().split("\n").slice(-3).join(" ")}`);
  const report = JSON.parse(result.stdout) as {
    summary: { violations: Array<{ rule: { name: string }; from: string; to: string }> };
  };
  return report.summary.violations.map(({ rule, from, to }) => ({ rule: rule.name, from, to }));
}
