/**
 * The built page against its budgets and against the edge: every file the build emits is
 * content-hashed under the prefix Cloudflare caches for a year (infra/components/edge.ts), the HTML
 * is outside every cache rule, and the script and stylesheet stay within 30 KB gzipped.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetsCacheControl } from "../app/src/http/static";
import { cacheRules, hashedAssetsPrefix } from "../infra/components/edge";
import { assetsPrefix, buildWeb, type WebBuild } from "./build";

/**
 * Evaluates the subset of Cloudflare's rules language the cache rules use (`starts_with(field, "x")`,
 * `field eq "x"`, joined by `and`) for one request; anything else throws, so a rule written in
 * another form fails this test instead of being misread.
 */
function matches(expression: string, request: { path: string; method: string }): boolean {
  const fields: Record<string, string> = {
    "http.host": host,
    "http.request.uri.path": request.path,
    "http.request.method": request.method,
  };
  return expression.split(" and ").every((clause) => {
    const startsWith = /^starts_with\(([\w.]+), "([^"]*)"\)$/.exec(clause.trim());
    const equals = /^([\w.]+) eq "([^"]*)"$/.exec(clause.trim());
    const [, field, literal] = startsWith ?? equals ?? [];
    if (!field || !(field in fields) || literal === undefined)
      throw new Error(`unsupported rules-language clause: ${clause}`);
    return startsWith ? fields[field]!.startsWith(literal) : fields[field] === literal;
  });
}

const host = "chat.parley.example.com";
const cachedBy = (path: string) =>
  cacheRules(host).filter((rule) => matches(String(rule.expression), { path, method: "GET" }));

let outDir: string;
let web: WebBuild;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "parley-web-"));
  web = await buildWeb(outDir);
});
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("the chat page build", () => {
  it("emits only content-hashed files under /assets/, each referenced by the HTML with its integrity", () => {
    const emitted = readdirSync(join(outDir, "assets")).map((name) => `${assetsPrefix}${name}`);
    expect(emitted.sort()).toEqual([...web.assets].sort());
    expect(readdirSync(outDir).sort()).toEqual(["assets", "index.html"]);
    const html = readFileSync(join(outDir, "index.html"), "utf8");
    for (const url of web.assets) {
      expect(url).toMatch(/^\/assets\/[a-z]+-[A-Za-z0-9]{8,}\.(js|css|svg)$/);
      expect(html).toContain(`"${url}"`);
    }
    expect(html.match(/integrity="sha384-/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script>|<style|style=/);
  });

  it("gives the same names for the same sources", async () => {
    const again = mkdtempSync(join(tmpdir(), "parley-web-"));
    try {
      expect((await buildWeb(again)).assets).toEqual(web.assets);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it("keeps script + stylesheet within 30 KB gzipped", () => {
    const bytes = web.assets
      .filter((url) => /\.(js|css)$/.test(url))
      .reduce((sum, url) => sum + gzipSync(readFileSync(join(outDir, url))).length, 0);
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThanOrEqual(30 * 1024);
  });
});

describe("caching contract with the edge (infra/components/edge.ts)", () => {
  it("makes every emitted asset cacheable, for as long as the app tells browsers to keep it", () => {
    const [rule] = cachedBy(`${hashedAssetsPrefix}x.js`);
    // The edge respects the origin, so the app's header is the lifetime at the edge and in browsers.
    expect(rule?.actionParameters).toMatchObject({
      cache: true,
      edgeTtl: { mode: "respect_origin" },
      browserTtl: { mode: "respect_origin" },
    });
    expect(assetsCacheControl).toBe("public, max-age=31536000, immutable");
    for (const url of web.assets) expect(cachedBy(url).map((match) => match.ref)).toEqual([rule!.ref]);
  });

  it("leaves the HTML to the origin's no-cache", () => {
    for (const path of ["/", "/index.html"]) expect(cachedBy(path)).toEqual([]);
  });

  it("reads the rules language it is given, and refuses what it does not know", () => {
    const [assets] = cacheRules(host);
    const expression = String(assets?.expression);
    expect(matches(expression, { path: "/assets/x.js", method: "GET" })).toBe(true);
    expect(matches(expression, { path: "/x/assets/x.js", method: "GET" })).toBe(false);
    expect(() => matches('http.host contains "x"', { path: "/", method: "GET" })).toThrow(/unsupported/);
  });
});
