/**
 * Exporters for the managed data stores: postgres_exporter against the RDS primary and
 * redis_exporter against the ElastiCache primary endpoint, both scraped through ServiceMonitors.
 * Their credentials live in Kubernetes Secrets the charts reference, never in the values.
 */

export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The Secrets (in the monitoring namespace) that hold the exporters' credentials. */
export const postgresExporterSecret: SecretKeyRef = {
  name: "postgres-exporter-datasource",
  key: "DATA_SOURCE_NAME",
};
export const redisExporterSecret: SecretKeyRef = { name: "redis-exporter-auth", key: "password" };

export interface PostgresExporterValues {
  config: { datasourceSecret: SecretKeyRef };
  serviceMonitor: { enabled: true };
}

/** `datasourceSecret` holds a full connection URI (host, credentials, `sslmode=require`). */
export function postgresExporterValues(datasourceSecret: SecretKeyRef): PostgresExporterValues {
  return { config: { datasourceSecret }, serviceMonitor: { enabled: true } };
}

export interface RedisExporterValues {
  redisAddress: string;
  auth: { enabled: true; secret: SecretKeyRef };
  serviceMonitor: { enabled: true };
}

/** `rediss://`: ElastiCache has in-transit encryption on, so the exporter speaks TLS too. */
export function redisExporterValues(input: {
  endpoint: string;
  port: number;
  authTokenSecret: SecretKeyRef;
}): RedisExporterValues {
  return {
    redisAddress: `rediss://${input.endpoint}:${input.port}`,
    auth: { enabled: true, secret: input.authTokenSecret },
    serviceMonitor: { enabled: true },
  };
}
