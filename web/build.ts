/**
 * `npm run build:web`: the chat page into dist/web — index.html plus content-hashed files under
 * assets/ (script, stylesheet, icon). A file's URL changes whenever its content does, which is what
 * lets the app and the edge cache everything under /assets/ for a year (see app/src/http/static.ts).
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { build } from "esbuild";

const root = join(__dirname, "..");
export const defaultWebDir = join(root, "dist", "web");
/** URL prefix of the content-hashed files (the edge's cache rule matches it). */
export const assetsPrefix = "/assets/";

export interface WebBuild {
  outDir: string;
  /** URL paths of the content-hashed files, e.g. /assets/main-3FQ7C2XA.js. */
  assets: string[];
}

const sri = (content: Buffer) => `sha384-${createHash("sha384").update(content).digest("base64")}`;

export async function buildWeb(outDir = defaultWebDir): Promise<WebBuild> {
  rmSync(outDir, { recursive: true, force: true });
  const assetsDir = join(outDir, "assets");
  const result = await build({
    entryPoints: [join(__dirname, "src", "main.ts")],
    outdir: assetsDir,
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    format: "esm",
    target: ["chrome111", "firefox115", "safari16.4"],
    metafile: true,
    // Output paths in the metafile are relative to this folder.
    absWorkingDir: root,
    logLevel: "warning",
  });
  const urlOf = (file: string) => `${assetsPrefix}${relative(assetsDir, join(root, file))}`;
  const outputs = Object.keys(result.metafile.outputs);
  const script = outputs.find((file) => file.endsWith(".js"))!;
  const style = outputs.find((file) => file.endsWith(".css"))!;

  const icon = readFileSync(join(__dirname, "icon.svg"));
  const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 10)}.svg`;
  mkdirSync(assetsDir, { recursive: true });
  writeFileSync(join(assetsDir, iconName), icon);

  // The template names the unhashed files; each is swapped for its hashed URL (with integrity).
  const replacements: Array<[string, string]> = [
    ['href="/assets/icon.svg"', `href="${assetsPrefix}${iconName}"`],
    ['href="/assets/main.css"', `href="${urlOf(style)}" integrity="${sri(readFileSync(join(root, style)))}"`],
    ['src="/assets/main.js"', `src="${urlOf(script)}" integrity="${sri(readFileSync(join(root, script)))}"`],
  ];
  let html = readFileSync(join(__dirname, "index.html"), "utf8");
  for (const [from, to] of replacements) {
    if (!html.includes(from)) throw new Error(`web/index.html no longer contains ${from}`);
    html = html.replace(from, to);
  }
  writeFileSync(join(outDir, "index.html"), html);
  return { outDir, assets: [urlOf(script), urlOf(style), `${assetsPrefix}${iconName}`] };
}

if (require.main === module)
  buildWeb().then(
    (web) =>
      console.log(`build:web: wrote ${web.outDir} (${web.assets.map((url) => basename(url)).join(", ")})`),
    (error: Error) => {
      console.error(`build:web: ${error.message}`);
      process.exit(1);
    },
  );
