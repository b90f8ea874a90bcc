/**
 * What the Ingress routes to the app: `/api/*` and the chat page (`/` and the files next to it in
 * app/public/, read from there so a new asset is routed without a second list). Probes
 * (/healthz, /readyz) and metrics stay inside the cluster: the ALB answers anything else with 404.
 */
import { readdirSync } from "node:fs";
import path from "node:path";

export interface IngressRoute {
  path: string;
  pathType: "Prefix" | "Exact";
}

export const publicDirectory = path.join(__dirname, "..", "..", "..", "app", "public");

export function publicRoutes(directory = publicDirectory): IngressRoute[] {
  const assets = readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
    .sort();
  return [
    // Prefix matches whole path elements: /api and /api/..., never /apix (Kubernetes Ingress docs).
    { path: "/api", pathType: "Prefix" },
    { path: "/", pathType: "Exact" },
    ...assets.map((name) => ({ path: `/${name}`, pathType: "Exact" as const })),
  ];
}
