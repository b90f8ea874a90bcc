/**
 * The import direction of the repository, drawn in docs/architecture.md and checked by `npm test`
 * (scripts/test.ts runs `depcruise` with this file; zero violations allowed).
 *
 * Layers, lowest first: contracts/ ← app/, infra/, observability (alerts/, dashboards/,
 * observability/), policies/ ← scripts/ (dev tooling). Tests and test support sit on top: they may
 * import anything, and nothing else may import them.
 */

/** Test files and test support: vitest files, tests/ folders, infra/testing/, policies/testing/. */
const testSupport = [
  "\\.test\\.ts$",
  "(^|/)tests/",
  "(^|/)testing/",
  // The promtool/amtool runner the rule and dashboard tests share.
  "^alerts/check\\.ts$",
];
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
        "Test support (tests/, */testing/, *.test.ts) is never imported by production code or tooling; the offline plan's runner is infra/offline-runner/.",
      severity: "error",
      from: { pathNot: testSupport },
      to: { path: testSupport },
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
