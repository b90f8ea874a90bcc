/**
 * The import direction of the repository, drawn in docs/architecture.md and checked by `npm test`
 * (scripts/test.ts runs `depcruise` with this file; zero violations allowed).
 *
 * Layers, lowest first: contracts/ ← app/, infra/, observability (alerts/, dashboards/,
 * observability/), policies/ ← scripts/ (dev tooling). Tests and test support sit on top: they may
 * import anything, and nothing else may import them (the bench's fake AI provider aside, below).
 */

/**
 * Test files (`*.test.ts`, wherever they sit beside their code) and test support, which has one home:
 * tests/support/, a folder per area (app/, infra/, policies/, observability/).
 */
const testSupport = ["\\.test\\.ts$", "^tests/"];
/** The local OpenAI-compatible stand-in that the app's tests and the AI-savings bench share. */
const fakeAiProvider = "^tests/support/app/fake-openai\\.ts$";
const observability = "^(alerts|dashboards|observability)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "contracts-are-the-bottom",
      comment:
        "contracts/ holds the names every side shares (metrics, environment, enums, stacks); it imports no other part of the repository.",
      severity: "error",
      from: { path: "^contracts/" },
      to: { path: "^(?!contracts/)[^/]+/" },
    },
    {
      name: "app-stands-alone",
      comment:
        "The service imports only contracts/ outside app/src: the image is built from app/, web/ and contracts/ alone.",
      severity: "error",
      from: { path: "^app/src/", pathNot: testSupport },
      to: { path: "^(infra|policies|alerts|dashboards|observability|scripts|tests|\\.github)/" },
    },
    {
      name: "infra-does-not-import-the-app",
      comment:
        "infra/ learns the app's ports, environment and metric names from contracts/, not from app/src.",
      severity: "error",
      from: { path: "^infra/", pathNot: testSupport },
      to: { path: "^(app|web|policies|scripts|\\.github)/" },
    },
    {
      name: "observability-is-production-code",
      comment:
        "Rules, alerts, routing and dashboards import contracts/ and each other; not the app, the infrastructure, the policies or the dev tooling in scripts/.",
      severity: "error",
      from: { path: observability, pathNot: testSupport },
      to: { path: "^(app|infra|policies|scripts|web|\\.github)/" },
    },
    {
      name: "policies-do-not-import-tooling",
      comment: "The policy pack and the offline plan run on contracts/ and infra/ alone.",
      severity: "error",
      from: { path: "^policies/", pathNot: testSupport },
      to: { path: "^(app|web|scripts|\\.github)/" },
    },
    {
      name: "web-page-stands-alone",
      comment: "The chat page's browser code is bundled on its own.",
      severity: "error",
      from: { path: "^web/src/" },
      to: { path: "^(?!web/src/|contracts/)[^/]+/" },
    },
    {
      name: "only-tests-import-test-support",
      comment:
        "Test support (tests/, *.test.ts) is never imported by production code (app/src, infra, policies, observability, contracts, web) or tooling; the offline plan's runner is infra/offline-runner/. app/bench/ has its own rule below.",
      severity: "error",
      from: { pathNot: [...testSupport, "^app/bench/"] },
      to: { path: testSupport },
    },
    {
      name: "bench-uses-only-the-fake-ai-provider",
      comment:
        "app/bench/ is dev tooling that never ships (the image bundles app/src through app/build.ts). The AI-savings bench runs the app against the same local OpenAI stand-in as the tests, so that stand-in has one copy; nothing else of test support.",
      severity: "error",
      from: { path: "^app/bench/", pathNot: testSupport },
      to: { path: testSupport, pathNot: fakeAiProvider },
    },
    {
      name: "test-support-has-one-home",
      comment:
        "Helpers for tests live in tests/support/ (a folder per area), not in a testing/ or tests/ folder beside the code, where they would count as production code.",
      severity: "error",
      from: { path: ["(^|/)testing/", "^.+/tests/(?!.*\\.test\\.ts$)"] },
      to: {},
    },
    {
      name: "app-domain-is-pure",
      comment: "app/src/domain/ (errors, the keyset cursor) imports nothing else of the app.",
      severity: "error",
      from: { path: "^app/src/domain/" },
      to: { path: "^app/src/(?!domain/)" },
    },
    {
      name: "app-lower-layers-do-not-import-http",
      comment:
        "Within the app: routes and http → services → data, db, ai, cache, auth, telemetry → domain. Nothing below the HTTP layer imports it; services report domain errors, which app/src/http/errors.ts maps to statuses.",
      severity: "error",
      from: { path: "^app/src/(services|data|db|ai|cache|auth|telemetry|domain)/" },
      to: { path: "^app/src/(http|routes)/" },
    },
    {
      name: "app-data-does-not-import-services",
      comment: "The data layer (stores, database, caches) does not call back up into the services.",
      severity: "error",
      from: { path: "^app/src/(data|db|cache|telemetry|domain)/" },
      to: { path: "^app/src/services/" },
    },
    {
      name: "no-unresolvable-imports",
      comment: "Every relative import resolves to a file.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist|\\.state)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".mts", ".cjs", ".mjs", ".js", ".json"],
    },
  },
};
