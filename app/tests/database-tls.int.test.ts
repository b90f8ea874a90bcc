/**
 * `sslmode=verify-full` with a CA file, as the cluster's connection URLs use it (RDS CA bundle), on a
 * real PostgreSQL with TLS on: a server certificate from a test CA made here with openssl. The app's
 * database client connects to `localhost` when the certificate names it and chains to the CA, and
 * refuses, with Node's readable reason, a certificate for another host name or from an unknown CA.
 *
 * node-postgres (pg-connection-string 2.x, without `uselibpqcompat`) reads `sslrootcert` into
 * `ssl.ca` and leaves `verify-full` to Node's defaults (chain and host name checked); only
 * `no-verify` turns verification off (node_modules/pg-connection-string/index.js).
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, removeStateDir } from "../../scripts/platform";
import { type PostgresServer, startPostgresPrimary } from "../../scripts/platform/postgres";
import { platform } from "../../tests/support/platform";
import { Database } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { createMetrics } from "../src/telemetry/metrics";

let dir: string;
let server: PostgresServer;

function openssl(args: string[]): void {
  const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr}`);
}

/** A self-signed CA `name`.pem / `name`.key. */
function makeCa(name: string): void {
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=Parley test ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
  ]);
}

/** A server certificate `name`.pem / `name`.key for `host`, signed by `ca`. */
function makeServerCert(name: string, host: string, ca: string): void {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`);
  openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    `/CN=${host}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ]);
  openssl([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

const admin = () => new pg.Client({ connectionString: server.url });

/** Serves certificate `name` (ssl on) and waits until a TLS handshake sees it. */
async function serveCertificate(name: string): Promise<void> {
  const client = admin();
  await client.connect();
  try {
    // Into the server's data directory: from a checkout the `postgres` OS user cannot enter (a
    // root-only /root/...), the platform keeps that directory elsewhere, and the server could not
    // read files here.
    const dataDirectory = (await client.query<{ data_directory: string }>("SHOW data_directory")).rows[0]!
      .data_directory;
    const cert = join(dataDirectory, "server.crt");
    const key = join(dataDirectory, "server.key");
    copyFileSync(join(dir, `${name}.pem`), cert);
    copyFileSync(join(dir, `${name}.key`), key);
    chmodSync(key, 0o600);
    // PostgreSQL refuses a key file that is not its OS user's with mode 0600 (as root, it runs as `postgres`).
    if (process.getuid?.() === 0) {
      const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout);
      for (const file of [cert, key]) chownSync(file, id("-u"), id("-g"));
    }
    await client.query(`ALTER SYSTEM SET ssl_cert_file = '${cert}'`);
    await client.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`);
    await client.query("ALTER SYSTEM SET ssl = on");
    await client.query("SELECT pg_reload_conf()");
  } finally {
    await client.end();
  }
  // The reload is asynchronous: wait until a handshake presents this certificate.
  const expected = spawnSync(
    "openssl",
    ["x509", "-noout", "-fingerprint", "-sha256", "-in", join(dir, `${name}.pem`)],
    {
      encoding: "utf8",
    },
  ).stdout.trim();
  const deadline = Date.now() + 15_000;
  for (;;) {
    const seen = spawnSync(
      "sh",
      [
        "-c",
        `openssl s_client -starttls postgres -connect 127.0.0.1:${server.port} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`,
      ],
      { encoding: "utf8" },
    ).stdout.trim();
    if (seen === expected) return;
    if (Date.now() > deadline) throw new Error(`the server still presents ${seen || "nothing"}, not ${name}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const verifyFullUrl = (host = "localhost") =>
  `postgres://postgres@${host}:${server.port}/postgres?sslmode=verify-full&sslrootcert=${join(dir, "ca.pem")}`;

function openDatabase(url: string): Database {
  return new Database({
    primaryUrl: url,
    primaryMax: 2,
    replicaMax: 1,
    maxLagSeconds: 5,
    checkIntervalMs: 60_000,
    connectTimeoutMs: 5_000,
    queryTimeoutMs: 5_000,
    metrics: createMetrics({ version: "t", commit: "t" }),
    log: pino({ level: "silent" }),
  });
}

/** The error a first query through the app's client fails with. */
async function refusal(url: string): Promise<Error> {
  const database = openDatabase(url);
  try {
    await database.primary.query("SELECT 1");
  } catch (error) {
    return error as Error;
  } finally {
    await database.close();
  }
  throw new Error(`expected ${url} to be refused`);
}

beforeAll(async () => {
  dir = join(platform().stateDir, `tls-${randomUUID().slice(0, 8)}`);
  // Traversable by the `postgres` OS user the server runs as.
  for (const folder of [dir, join(dir, "pg")]) {
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
  }
  makeCa("ca");
  makeCa("stranger-ca");
  makeServerCert("localhost", "localhost", "ca");
  makeServerCert("other-host", "db.example.internal", "ca");
  makeServerCert("stranger", "localhost", "stranger-ca");
  server = await startPostgresPrimary({
    bin: platform().binaries.postgresBin,
    stateDir: join(dir, "pg"),
    port: await freePort(),
    ephemeral: true,
  });
});

afterAll(async () => {
  await server?.process.stop();
  if (!dir) return;
  // The server's own state folder first: it holds the link to data kept outside an unreachable checkout.
  removeStateDir(join(dir, "pg"));
  removeStateDir(dir);
});

describe("verify-full with the CA file", () => {
  it("connects to localhost over TLS when the certificate names it and chains to the CA", async () => {
    await serveCertificate("localhost");
    const database = openDatabase(verifyFullUrl());
    try {
      const result = await database.primary.query<{ ssl: boolean }>(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
      );
      expect(result.rows).toEqual([{ ssl: true }]);
    } finally {
      await database.close();
    }
    // The migration step's client reads the same URL.
    await expect(migrate(verifyFullUrl())).resolves.toBeUndefined();
  });

  it("refuses a certificate for another host name, saying which", async () => {
    await serveCertificate("other-host");
    const error = await refusal(verifyFullUrl());
    expect(error.message).toMatch(
      /Hostname\/IP does not match certificate's altnames: Host: localhost\. is not in the cert's altnames: DNS:db\.example\.internal/,
    );
  });

  it("refuses a certificate from an unknown CA, saying so", async () => {
    await serveCertificate("stranger");
    const error = await refusal(verifyFullUrl());
    expect(error.message).toMatch(
      /unable to verify the first certificate|unable to get local issuer certificate/,
    );
    // The same server is reachable: only the verification refuses it.
    const unverified = openDatabase(
      `postgres://postgres@localhost:${server.port}/postgres?sslmode=no-verify`,
    );
    try {
      await expect(unverified.primary.query("SELECT 1")).resolves.toBeDefined();
    } finally {
      await unverified.close();
    }
  });
});
