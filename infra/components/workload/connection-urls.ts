/** Connection URLs for the managed data stores, built from their endpoints and credentials. */

export interface PostgresConnection {
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

/**
 * RDS enforces TLS (`rds.force_ssl`). node-postgres reads `sslmode=no-verify` as "encrypt, do not
 * verify the chain": RDS certificates chain to Amazon's RDS CA, which is not in Node's bundle.
 * Go clients (postgres_exporter) spell the same thing `require`.
 */
export type PostgresSslMode = "no-verify" | "require";

export function postgresUrl(connection: PostgresConnection, sslmode: PostgresSslMode): string {
  const user = encodeURIComponent(connection.username);
  const password = encodeURIComponent(connection.password);
  const database = encodeURIComponent(connection.database);
  return `postgres://${user}:${password}@${connection.host}:${connection.port}/${database}?sslmode=${sslmode}`;
}

/** ElastiCache with in-transit encryption and an AUTH token: `rediss://` and the token as password. */
export function redisUrl(connection: { host: string; port: number; authToken: string }): string {
  return `rediss://:${encodeURIComponent(connection.authToken)}@${connection.host}:${connection.port}`;
}
