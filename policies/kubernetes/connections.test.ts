import { describe, expect, it } from "vitest";
import { deployment } from "../../tests/support/policies/fixtures";
import { messages, mutate, planned } from "../../tests/support/policies/policyTest";
import { postgresTlsVerified } from "./connections";

const verified =
  "postgres://parley_app:pw@db.abc.eu-west-1.rds.amazonaws.com:5432/parley?sslmode=verify-full&sslrootcert=%2Fsrv%2Fparley%2Fcerts%2Frds-global-bundle.pem";
const secret = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { namespace: "parley" },
  type: "Opaque",
  stringData: {
    DATABASE_URL: verified,
    DATABASE_REPLICA_URLS: `${verified.replace("db.", "replica-0.")},${verified.replace("db.", "replica-1.")}`,
    REDIS_URL: "rediss://:token@cache:6379",
  },
};
const secretType = "kubernetes:core/v1:Secret";
const deploymentType = "kubernetes:apps/v1:Deployment";
const withEnv = (value: string) =>
  mutate(deployment, "spec.template.spec.containers.0.env", [{ name: "DATABASE_URL", value }]);

describe("k8s-postgres-tls-verified", () => {
  it("passes verify-full URLs with the CA bundle, in a Secret and in plain env", async () => {
    expect(
      await messages(postgresTlsVerified, [
        planned(secretType, secret),
        planned(deploymentType, withEnv(verified)),
      ]),
    ).toEqual([]);
  });

  it("a replica URL with sslmode=no-verify", async () => {
    const mutated = mutate(
      secret,
      "stringData.DATABASE_REPLICA_URLS",
      `${verified},${verified.replace("db.", "replica-1.").replace("verify-full", "no-verify")}`,
    );
    expect(await messages(postgresTlsVerified, [planned(secretType, mutated)])).toEqual([
      "Secret stringData DATABASE_REPLICA_URLS holds a PostgreSQL URL to replica-1.abc.eu-west-1.rds.amazonaws.com with sslmode=no-verify; use sslmode=verify-full with sslrootcert naming the RDS CA bundle.",
    ]);
  });

  it("a URL with sslmode=require in a container's env", async () => {
    expect(
      await messages(postgresTlsVerified, [
        planned(deploymentType, withEnv(verified.replace("verify-full", "require"))),
      ]),
    ).toEqual([
      "container app env DATABASE_URL holds a PostgreSQL URL to db.abc.eu-west-1.rds.amazonaws.com with sslmode=require; use sslmode=verify-full with sslrootcert naming the RDS CA bundle.",
    ]);
  });

  it("verify-full without the CA bundle, in a Secret's base64 data", async () => {
    const url = verified.replace(/&sslrootcert=.*$/, "");
    const encoded = mutate(secret, "stringData", undefined) as Record<string, unknown>;
    encoded.data = { DATA_SOURCE_NAME: Buffer.from(url).toString("base64") };
    expect(await messages(postgresTlsVerified, [planned(secretType, encoded)])).toEqual([
      "Secret data DATA_SOURCE_NAME holds a PostgreSQL URL to db.abc.eu-west-1.rds.amazonaws.com with verify-full but no sslrootcert; use sslmode=verify-full with sslrootcert naming the RDS CA bundle.",
    ]);
  });
});
