/**
 * PostgreSQL connections in the cluster verify the server: a `postgres://` URL in a Secret or a
 * container's plain env value must carry `sslmode=verify-full` and an `sslrootcert` (the RDS CA
 * bundle). `require`, `prefer`, `no-verify` or no sslmode encrypt at best without knowing who answers
 * (infra/components/workload/connection-urls.ts). A value only known after the update (a Secret built
 * from endpoints, during preview) is decided by the update-mode run of the plan.
 */
import * as k8s from "@pulumi/kubernetes";
import { type ReportViolation, type ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { containersOf, validateAllPodSpecs } from "../support/kubernetes";
import { readOrUnknown, unknown } from "../support/unknowns";

/** Why `value` (a URL or a comma-separated list of URLs) is not a verified PostgreSQL connection, if it is one. */
export function unverifiedPostgresUrls(value: string): string[] {
  return value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => /^postgres(ql)?:\/\//i.test(part))
    .flatMap((part) => {
      let url: URL;
      try {
        url = new URL(part);
      } catch {
        return ["a PostgreSQL URL that does not parse"];
      }
      const sslmode = url.searchParams.get("sslmode");
      if (sslmode !== "verify-full")
        return [`a PostgreSQL URL to ${url.hostname} with sslmode=${sslmode ?? "(unset)"}`];
      if (!url.searchParams.get("sslrootcert"))
        return [`a PostgreSQL URL to ${url.hostname} with verify-full but no sslrootcert`];
      return [];
    });
}

const advice = "use sslmode=verify-full with sslrootcert naming the RDS CA bundle.";

function checkValues(where: string, values: Record<string, unknown>, report: ReportViolation): void {
  for (const [key, value] of Object.entries(values)) {
    if (typeof value !== "string") continue;
    for (const problem of unverifiedPostgresUrls(value))
      report(`${where} ${key} holds ${problem}; ${advice}`);
  }
}

export const postgresTlsVerified: ResourceValidationPolicy = {
  name: "k8s-postgres-tls-verified",
  description:
    "PostgreSQL URLs in Secrets and container env verify the server: sslmode=verify-full with the RDS CA bundle.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(k8s.core.v1.Secret, (secret, _args, report) => {
      const stringData = readOrUnknown(() => secret.stringData);
      if (stringData && stringData !== unknown) checkValues("Secret stringData", stringData, report);
      const data = readOrUnknown(() => secret.data);
      if (data && data !== unknown) {
        const decoded = Object.fromEntries(
          Object.entries(data).map(([key, value]) => [
            key,
            typeof value === "string" ? Buffer.from(value, "base64").toString("utf8") : value,
          ]),
        );
        checkValues("Secret data", decoded, report);
      }
    }),
    ...validateAllPodSpecs((spec, _args, report) => {
      for (const container of containersOf(spec)) {
        const env = Object.fromEntries(
          (container.env ?? []).map((variable) => [variable.name, readOrUnknown(() => variable.value)]),
        );
        checkValues(`container ${container.name} env`, env, report);
      }
    }),
  ],
};

export const connectionPolicies = [postgresTlsVerified];
