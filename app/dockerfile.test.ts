/**
 * The container runs exactly what the integration tests run: `node dist/app/main.js`, the file
 * `npm run build:app` writes. Checked offline (no Docker engine here): stages, user and command.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { rdsCaBundlePath, rdsCaBundleUrl } from "../contracts/database";
import { containerEnv } from "./build";

const root = join(__dirname, "..");
const dockerfile = readFileSync(join(__dirname, "Dockerfile"), "utf8");
const instructions = dockerfile
  .split("\n")
  .filter((line) => line.trim() && !line.trim().startsWith("#"))
  .map((line) => line.trim());

it("builds in one stage and runs the bundle as a non-root user in a second", () => {
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  expect(stages).toHaveLength(2);
  expect(instructions).toContain("RUN npm run build:app");
  const runtime = instructions.slice(instructions.indexOf(stages[1]!));
  expect(runtime).toContain("COPY --from=build --chown=root:root /src/dist/app ./dist/app");
  expect(runtime).toContain("USER node");
  expect(runtime.at(-1)).toBe('CMD ["node", "dist/app/main.js"]');
});

it("uses the build script the tests use, writing dist/app/main.js", () => {
  const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts;
  expect(scripts["build:app"]).toBe("node scripts/bootstrap.mjs app/build.ts");
  expect(readFileSync(join(__dirname, "build.ts"), "utf8")).toContain('outfile: join(outDir, "main.js")');
});

it("runs on the Node.js version the repository declares once, in .node-version", () => {
  const declared = readFileSync(join(root, ".node-version"), "utf8").trim();
  expect(instructions).toContain(`ARG NODE_VERSION=${declared}`);
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  for (const stage of stages) expect(stage).toMatch(/^FROM node:\$\{NODE_VERSION\}-alpine AS \w+$/);
  // The build stage runs `npm run build:app`, which reads .node-version through the bootstrap.
  expect(instructions).toContain("COPY tsconfig.json .node-version ./");
  expect(instructions).toContain("COPY scripts/bootstrap.mjs ./scripts/");
});

it("ships the RDS CA bundle, fetched from AWS and checked at build time, where the connection URLs name it", () => {
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  const build = instructions.slice(0, instructions.indexOf(stages[1]!));
  const runtime = instructions.slice(instructions.indexOf(stages[1]!));
  const fetched = "/src/certs/rds-global-bundle.pem";
  expect(build).toContain(`ADD ${rdsCaBundleUrl} ${fetched}`);
  expect(build).toContain(`RUN node scripts/bootstrap.mjs app/src/db/ca-bundle.ts ${fetched}`);
  expect(build.indexOf(`RUN node scripts/bootstrap.mjs app/src/db/ca-bundle.ts ${fetched}`)).toBeGreaterThan(
    build.indexOf(`ADD ${rdsCaBundleUrl} ${fetched}`),
  );
  const workdir = runtime.find((line) => line.startsWith("WORKDIR "))!.slice("WORKDIR ".length);
  const copy = runtime.find((line) => line.includes(fetched));
  expect(copy).toMatch(/^COPY --from=build --chown=root:root --chmod=0444 \S+ \S+$/);
  expect(join(workdir, copy!.split(" ").at(-1)!)).toBe(rdsCaBundlePath);
});

it("runs the bundle with exactly the environment the bench starts it with (containerEnv)", () => {
  const stages = instructions.filter((line) => line.startsWith("FROM "));
  const runtime = instructions.slice(instructions.indexOf(stages[1]!));
  const env = Object.fromEntries(
    runtime
      .filter((line) => line.startsWith("ENV "))
      .map((line) => {
        const assignment = line.slice("ENV ".length);
        return [assignment.slice(0, assignment.indexOf("=")), assignment.slice(assignment.indexOf("=") + 1)];
      }),
  );
  expect(env).toEqual(containerEnv);
  const bench = readFileSync(join(__dirname, "bench", "bench.ts"), "utf8");
  expect(bench).toMatch(/\.\.\.containerEnv/);
});
