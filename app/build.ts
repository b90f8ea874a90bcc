/**
 * `npm run build:app`: bundles app/src/main.ts with esbuild into dist/app/main.js (Node 20, CommonJS,
 * every dependency inlined) and builds the chat page next to it (dist/app/public). The container runs
 * exactly `node dist/app/main.js`.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { buildWeb } from "../web/build";

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
