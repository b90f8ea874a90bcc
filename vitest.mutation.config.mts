import { defineConfig } from "vitest/config";

/**
 * The tests Stryker runs against each mutant (`npm run test:mutation`): only those of the modules it
 * mutates that need no server, no child process and no Pulumi program run, so a mutant is judged in
 * seconds. The full suites stay in vitest.config.mts.
 */
export default defineConfig({
  test: {
    include: [
      "policies/**/*.test.ts",
      "infra/scaling/**/*.test.ts",
      "alerts/**/*.test.ts",
      "observability/**/*.test.ts",
      "app/src/auth/**/*.test.ts",
      "app/src/domain/**/*.test.ts",
      "app/src/http/**/*.test.ts",
      "app/src/cache/**/*.test.ts",
    ],
    exclude: [
      "**/node_modules/**",
      "**/.state/**",
      "**/*.int.test.ts",
      // The served pack and the offline plan run the whole Pulumi program (minutes per run).
      "policies/served.test.ts",
      "policies/plan.test.ts",
      "policies/offline.test.ts",
      // Runs the program for both stacks (seconds per test); cross-stack-issues.test.ts judges the rules.
      "policies/cross-stack/zone-ownership.test.ts",
      // Runs the CLI in a child process, where Stryker cannot see which mutant is active.
      "infra/scaling/cli.test.ts",
      // Simulates hours of traffic per scenario; the simulator is not mutated.
      "infra/scaling/simulator/simulate.test.ts",
    ],
    // promtool's unit tests over every rule file take minutes on a shared machine (the unit project
    // runs them); against a mutant, `promtool check rules` and the literal expectations decide.
    testNamePattern: /^(?!.*promtool unit test)/,
    // One worker's module cache serves every test file and every mutant run: each file's fresh
    // import of @pulumi/pulumi took most of a run (this whole set: 67 s isolated, 20 s shared, on
    // 2026-12-01). Safe here because every mutant is switched at run time (static ones are ignored in
    // stryker.config.mjs) and these tests pass in either mode.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
