// Mutation testing of the modules that run without servers (`npm run test:mutation`; one module
// group: `npm run test:mutation -- --mutate 'policies/**/*.ts'`). Scores are in README.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.mts" },
  plugins: ["@stryker-mutator/vitest-runner"],
  mutate: [
    "policies/**/*.ts",
    "!policies/**/*.test.ts",
    // The served-pack / offline-plan runners (covered by the infra project).
    "!policies/plan/**",
    "!policies/offline.ts",
    "!policies/pack.ts",
    "!policies/index.ts",
    "infra/scaling/**/*.ts",
    "!infra/scaling/**/*.test.ts",
    "!infra/scaling/cli.ts",
    "!infra/scaling/index.ts",
    // The capacity simulation and its charts: each test simulates hours of traffic (minutes once
    // instrumented), so they stay with the infra project.
    "!infra/scaling/simulator/{simulate,evaluate,scenarios,chart}.ts",
    "{alerts,observability}/**/*.ts",
    "!{alerts,observability}/**/*.test.ts",
    // Runs promtool/amtool for the tests.
    "!{alerts,observability}/**/check.ts",
    "app/src/auth/**/*.ts",
    "!app/src/auth/**/*.test.ts",
    "!app/src/auth/common-passwords.ts",
    "app/src/domain/cursor.ts",
    "app/src/http/context.ts",
    "app/src/http/rate-limit-window.ts",
    "app/src/http/errors.ts",
    "app/src/cache/circuit-breaker.ts",
    "app/src/cache/single-flight.ts",
  ],
  // The sandbox copy leaves out the Node.js runtime and local state.
  ignorePatterns: [".state", "dist", "coverage"],
  coverageAnalysis: "perTest",
  // A static mutant (code run at import: policy names, descriptions, rule tables) is judged by
  // every test with a fresh import of @pulumi/pulumi; 328 of the policies' 1497 mutants took 74% of
  // the run that way. Those tables are checked by the pack and plan tests of the infra project.
  ignoreStatic: true,
  concurrency: 2,
  incremental: true,
  incrementalFile: ".state/stryker/incremental.json",
  tempDirName: ".state/stryker/tmp",
  cleanTempDir: true,
  thresholds: { high: 90, low: 80, break: 80 },
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: ".state/stryker/report.html" },
  jsonReporter: { fileName: ".state/stryker/report.json" },
  timeoutMS: 10_000,
  // The first run of every test on one worker takes minutes on a shared machine.
  dryRunTimeoutMinutes: 30,
};
