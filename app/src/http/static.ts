/**
 * The chat page as the edge expects it (infra/components/edge.ts caches `/assets/` for a year):
 * content-hashed files under /assets/ are `public, max-age=31536000, immutable`; the HTML is
 * `no-cache` (revalidated with its ETag every time) with a strict Content-Security-Policy — no inline
 * script or style, nothing from another origin. Compression (brotli when accepted) is the app's.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type Express } from "express";

export const assetsCacheControl = "public, max-age=31536000, immutable";
export const htmlCacheControl = "no-cache";
export const pageContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Where the built page is: next to the bundle (dist/app/public, written by `npm run build:app`) or,
 * running from the sources, dist/web (`npm run build:web`).
 */
export function webDirectory(): string | undefined {
  return [join(__dirname, "public"), join(__dirname, "..", "..", "..", "dist", "web")].find((dir) =>
    existsSync(join(dir, "index.html")),
  );
}

/**
 * Its own Express app, mounted by the API's: the HTML's ETag comes from the app's `etag` setting
 * (Express 5 res.sendFile sets send's `etag` option from it), which the API's app turns off.
 */
export function staticPage(dir: string): Express {
  const page = express();
  page.disable("x-powered-by");
  page.set("etag", "weak");
  page.use((_request, response, next) => {
    response.locals.routeLabel = "static";
    next();
  });
  page.use(
    "/assets",
    express.static(join(dir, "assets"), {
      index: false,
      cacheControl: false,
      setHeaders: (response) => response.setHeader("Cache-Control", assetsCacheControl),
    }),
  );
  page.get(["/", "/index.html"], (_request, response) => {
    response.setHeader("Cache-Control", htmlCacheControl);
    response.setHeader("Content-Security-Policy", pageContentSecurityPolicy);
    // No callback: Express then passes on every error but a client that left before the page was
    // sent (ECONNABORTED) and a failed socket write (express/lib/response.js, res.sendFile), which
    // are not the server's failures and must not be answered or counted as 500s.
    response.sendFile(join(dir, "index.html"), { cacheControl: false });
  });
  return page;
}
