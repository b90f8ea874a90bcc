/**
 * The headers of every /api answer, as the OWASP REST Security Cheat Sheet ("Security Headers") lists
 * them for APIs: no cache may store the answer, nothing may frame it, the browser must not sniff a
 * type or use plain HTTP, and a `default-src 'none'` policy in case a browser ever renders one as a
 * page. Cross-Origin-Resource-Policy keeps other sites from loading it with `no-cors` (helmet's
 * default, kept). The document-only headers helmet adds for pages (opener policy, DNS prefetch, the
 * old IE and Flash switches) stay on the chat page.
 */
import type { NextFunction, Request, Response } from "express";

export const apiHeaders: ReadonlyArray<readonly [name: string, value: string]> = [
  ["Cache-Control", "no-store"],
  ["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Referrer-Policy", "no-referrer"],
  // helmet's default for pages, so the API and the page ask browsers for the same thing.
  ["Strict-Transport-Security", "max-age=31536000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "DENY"],
];

export function apiSecurityHeaders(_request: Request, response: Response, next: NextFunction): void {
  for (const [name, value] of apiHeaders) response.setHeader(name, value);
  next();
}
