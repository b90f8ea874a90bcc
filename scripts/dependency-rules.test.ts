import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dependencyViolations, type Violation } from "./dependency-rules";

/**
 * A fixture laid out like the repository, with one planted import per rule: the rules of
 * .dependency-cruiser.cjs must name each of them, and nothing in the allowed files.
 */
const files: Record<string, string> = {
  "tsconfig.json": JSON.stringify({ compilerOptions: { module: "nodenext", strict: true } }),
  "contracts/metrics.ts": 'export const name = "x";\n',
  "contracts/leak.ts": 'import { program } from "../infra/index";\nexport const leak = program;\n',
  "infra/index.ts": 'import { name } from "../contracts/metrics";\nexport const program = name;\n',
  "infra/uses-app.ts": 'import { config } from "../app/src/config";\nexport const port = config;\n',
  "tests/support/infra/helper.ts": "export const helper = 1;\n",
  "tests/support/app/fake-openai.ts": "export const fake = 1;\n",
  "infra/index.test.ts":
    'import { helper } from "../tests/support/infra/helper";\nexport const ok = helper;\n',
  "infra/testing/stray.ts": 'import { name } from "../../contracts/metrics";\nexport const stray = name;\n',
  "app/tests/harness.ts": 'import { config } from "../src/config";\nexport const harness = config;\n',
  "app/bench/ai-savings.ts":
    'import { fake } from "../../tests/support/app/fake-openai";\nexport const bench = fake;\n',
  "app/bench/bench.ts":
    'import { helper } from "../../tests/support/infra/helper";\nexport const bench = helper;\n',
  "app/src/config.ts": 'import { name } from "../../contracts/metrics";\nexport const config = name;\n',
  "app/src/domain/errors.ts": "export class NotFound extends Error {}\n",
  "app/src/domain/impure.ts": 'import { config } from "../config";\nexport const impure = config;\n',
  "app/src/http/cursor.ts": "export type Cursor = string;\n",
  "app/src/data/store.ts": 'import type { Cursor } from "../http/cursor";\nexport type Page = Cursor;\n',
  "app/src/services/chat.ts":
    'import { NotFound } from "../domain/errors";\nimport type { Page } from "../data/store";\nexport const chat = (page: Page) => new NotFound(page);\n',
  "app/src/data/calls-up.ts": 'import { chat } from "../services/chat";\nexport const up = chat;\n',
  "policies/plan.ts":
    'import { helper } from "../tests/support/infra/helper";\nexport const plan = helper;\n',
  "scripts/platform.ts": "export const platform = 1;\n",
  "alerts/rules.ts": 'import { platform } from "../scripts/platform";\nexport const rules = platform;\n',
  "observability/dashboards.ts": 'import { program } from "../infra/index";\nexport const board = program;\n',
  "web/src/main.ts": 'import { config } from "../../app/src/config";\nexport const page = config;\n',
};

let fixture: string;
let violations: Violation[];

beforeAll(() => {
  fixture = mkdtempSync(join(tmpdir(), "parley-layers-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  }
  violations = dependencyViolations(fixture);
}, 120_000);

afterAll(() => rmSync(fixture, { recursive: true, force: true }));

const broken = () =>
  violations.map((violation) => `${violation.rule}: ${violation.from} → ${violation.to}`).sort();

describe("the layer rules (.dependency-cruiser.cjs)", () => {
  it("catch every planted wrong-way import, naming the rule", () => {
    expect(broken()).toEqual(
      [
        "app-data-does-not-import-services: app/src/data/calls-up.ts → app/src/services/chat.ts",
        "app-domain-is-pure: app/src/domain/impure.ts → app/src/config.ts",
        "app-lower-layers-do-not-import-http: app/src/data/store.ts → app/src/http/cursor.ts",
        "bench-uses-only-the-fake-ai-provider: app/bench/bench.ts → tests/support/infra/helper.ts",
        "contracts-are-the-bottom: contracts/leak.ts → infra/index.ts",
        "infra-does-not-import-the-app: infra/uses-app.ts → app/src/config.ts",
        "observability-is-production-code: alerts/rules.ts → scripts/platform.ts",
        "observability-is-production-code: observability/dashboards.ts → infra/index.ts",
        "only-tests-import-test-support: policies/plan.ts → tests/support/infra/helper.ts",
        "test-support-has-one-home: app/tests/harness.ts → app/src/config.ts",
        "test-support-has-one-home: infra/testing/stray.ts → contracts/metrics.ts",
        "web-page-stands-alone: web/src/main.ts → app/src/config.ts",
      ].sort(),
    );
  });

  it("leave allowed imports alone: tests into test support, the bench into the fake AI provider, services into domain and data", () => {
    const from = new Set(violations.map((violation) => violation.from));
    expect(from).not.toContain("infra/index.test.ts");
    expect(from).not.toContain("app/bench/ai-savings.ts");
    expect(from).not.toContain("app/src/services/chat.ts");
    expect(from).not.toContain("app/src/config.ts");
  });
});
