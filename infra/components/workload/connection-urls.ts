/** Connection URLs for the managed data stores, built from their endpoints and credentials. */

export interface PostgresConnection {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/**
 * RDS enforces TLS (`rds.force_ssl`); every client verifies the server: `sslmode=verify-full` with
 * the RDS CA bundle the app image ships (`sslrootcert`, app/src/db/ca-bundle.ts), so the chain must
 * reach an RDS CA and the certificate must name the host connected to (an instance endpoint, never
 * a private alias). Both clients read it that way:
 * - node-postgres (pg-connection-string 2.x): `sslrootcert` becomes `ssl.ca`; `verify-full` keeps
 *   Node's checks of chain and host name (node_modules/pg-connection-string/index.js).
 * - lib/pq (postgres_exporter v0.20.1 uses v1.10.9): `verify-full` sets the TLS ServerName to the
 *   host and `sslrootcert` is the root pool (lib/pq ssl.go at v1.10.9).
 * `require` and `no-verify` would encrypt without knowing who answers; the policy
 * `k8s-postgres-tls-verified` refuses them in the cluster.
 */
export function postgresUrl(connection: PostgresConnection, rootCertPath: string): string {
  const user = encodeURIComponent(connection.username);
  const password = encodeURIComponent(connection.password);
  const database = encodeURIComponent(connection.database);
  const tls = new URLSearchParams({ sslmode: "verify-full", sslrootcert: rootCertPath });
  return `postgres://${user}:${password}@${connection.host}:${connection.port}/${database}?${tls}`;
}

/** ElastiCache with in-transit encryption and an AUTH token: `rediss://` and the token as password. */
export function redisUrl(connection: { host: string; port: number; authToken: string }): string {
  return `rediss://:${encodeURIComponent(connection.authToken)}@${connection.host}:${connection.port}`;
}
