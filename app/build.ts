/**
 * `npm run build:app`: bundles app/src/main.ts with esbuild into dist/app/main.js (Node 20, CommonJS,
 * every dependency inlined) and builds the chat page next to it (dist/app/public). The container runs
 * exactly `node dist/app/main.js`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { buildWeb } from "../web/build";

/**
 * The environment the container runs the bundle with (app/Dockerfile's ENV lines, kept equal by
 * app/dockerfile.test.ts); `npm run bench` starts the bundle with it too, so its figures are the
 * container's.
 */
export const containerEnv = {
  NODE_ENV: "production",
  // glibc raises its mmap threshold to the size of the first large block freed, so the 16 MB blocks
  // scrypt allocates per login (app/src/auth/password.ts) stay in each libuv thread's arena: +120 MB
  // of RSS after 100 logins. Held at its default (128 KiB) they go back to the system when freed,
  // as musl (the Alpine image's libc, which ignores this variable) always does.
  GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=131072",
  // By default V8 lets the young generation grow to 128 MB here (two 64 MB semi-spaces): the heap
  // held 167 MB under 50 connections of cached reads with 27 MB of it live. 16 MB semi-spaces cap
  // the young generation at 32 MB: against 8 MB, a cached read costs 4–13% less CPU (fewer
  // scavenges, less promoted) for 17 MB more RSS (docs/performance.md, "Seventh round").
  NODE_OPTIONS: "--max-semi-space-size=16",
} as const;

export async function buildApp(
  root = join(__dirname, ".."),
  outDir = join(root, "dist", "app"),
): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, "app", "src", "main.ts")],
    outfile: join(outDir, "main.js"),
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: true,
    minifySyntax: true,
    // pg's optional native binding is never used.
    external: ["pg-native"],
    logLevel: "warning",
  });
  await buildWeb(join(outDir, "public"));
  return join(outDir, "main.js");
}

if (require.main === module)
  buildApp().then(
    (file) => console.log(`build:app: wrote ${file}`),
    (error: Error) => {
      console.error(`build:app: ${error.message}`);
      process.exit(1);
    },
  );
