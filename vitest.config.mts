import { defineConfig } from "vitest/config";

/**
 * Three projects:
 * - unit: pure code, no servers (`*.test.ts` outside infra/ and policies/);
 * - infra: the Pulumi program and policy pack under Pulumi mocks (`infra/**`, `policies/**`);
 * - integration: real PostgreSQL primary + replica, Redis, Prometheus and Alertmanager, started once
 *   by the global set-up on free ports (`*.int.test.ts`).
 */
const exclude = ["**/node_modules/**", "**/dist/**", "**/.state/**"];

export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["**/*.test.ts"],
          exclude: [...exclude, "**/*.int.test.ts", "infra/**", "policies/**"],
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: "infra",
          include: ["infra/**/*.test.ts", "policies/**/*.test.ts"],
          exclude: [...exclude, "**/*.int.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["**/*.int.test.ts"],
          exclude,
          globalSetup: ["./tests/support/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
