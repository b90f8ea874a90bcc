/**
 * What the Ingress routes to the app: `/api/*` and the chat page (`/` and its content-hashed files
 * under `/assets/`, which `npm run build:web` emits). Probes (/healthz, /readyz) and metrics stay
 * inside the cluster: the ALB answers anything else with 404.
 */
import { hashedAssetsPrefix } from "../edge";

export interface IngressRoute {
  path: string;
  pathType: "Prefix" | "Exact";
}

export function publicRoutes(): IngressRoute[] {
  return [
    // Prefix matches whole path elements: /api and /api/..., never /apix (Kubernetes Ingress docs).
    { path: "/api", pathType: "Prefix" },
    { path: "/", pathType: "Exact" },
    { path: hashedAssetsPrefix.replace(/\/$/, ""), pathType: "Prefix" },
  ];
}
