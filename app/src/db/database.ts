/**
 * The database: a primary pool for writes and a replica pool for reads, created once. Reads go to the
 * replica unless the caller needs the primary (read-your-writes) or the replica is down or lagging
 * past the bound; a read that fails to reach the replica is retried on the primary. Pool, query and
 * replica-lag metrics as the catalogue says.
 */
import pg from "pg";
import type { Logger } from "pino";
import type { Metrics } from "../telemetry/metrics";

export type PoolName = "primary" | "replica";

export interface DatabaseOptions {
  primaryUrl: string;
  replicaUrl?: string;
  primaryMax: number;
  replicaMax: number;
  maxLagSeconds: number;
  checkIntervalMs: number;
  metrics: Metrics;
  log: Logger;
}

/** Errors that mean "this server cannot be reached", as opposed to a bad query. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : "";
  return (
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "57P01",
      "57P02",
      "57P03",
      "08006",
      "08001",
      "08003",
    ].includes(code) || /timeout exceeded when trying to connect|Connection terminated/i.test(message)
  );
}

// Lag is 0 when everything received has been replayed (an idle primary writes nothing, so the last
// replay timestamp ages without the replica being behind). A replica with WAL pending that has not
// replayed a transaction since it started is behind by up to its uptime.
const replicaLagSql = `SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
  ELSE EXTRACT(EPOCH FROM now() - COALESCE(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))
END::float8 AS lag`;

export class Database {
  readonly primary: pg.Pool;
  readonly replica?: pg.Pool;
  private replicaUsable = false;
  private readonly replicaLabel: string;
  private healthTimer?: NodeJS.Timeout;
  private primaryUp = false;

  constructor(private readonly options: DatabaseOptions) {
    const common = { connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, statement_timeout: 15_000 };
    this.primary = new pg.Pool({ connectionString: options.primaryUrl, max: options.primaryMax, ...common });
    // pg attaches the whole client to these errors: log only what explains them.
    const idleError = (pool: PoolName) => (error: Error & { code?: string }) =>
      options.log.warn({ pool, error: error.message, code: error.code }, "idle database connection failed");
    this.primary.on("error", idleError("primary"));
    const { metrics } = options;
    metrics.dbPoolMaxConnections.set({ pool: "primary" }, options.primaryMax);
    if (options.replicaUrl) {
      this.replica = new pg.Pool({
        connectionString: options.replicaUrl,
        max: options.replicaMax,
        ...common,
      });
      this.replica.on("error", idleError("replica"));
      metrics.dbPoolMaxConnections.set({ pool: "replica" }, options.replicaMax);
    }
    const url = new URL(options.replicaUrl ?? options.primaryUrl);
    this.replicaLabel = `${url.hostname}:${url.port || "5432"}`;
    metrics.beforeScrape(() => this.recordPoolStats());
  }

  /** Starts measuring replica lag; resolves after the first measurement. */
  /** Starts the health checks (primary reachable, replica lag); resolves after the first round. */
  async start(): Promise<void> {
    const round = () => Promise.all([this.checkPrimary(), this.replica ? this.checkReplica() : undefined]);
    await round();
    this.healthTimer = setInterval(() => void round(), this.options.checkIntervalMs);
    this.healthTimer.unref();
  }

  /**
   * Whether the primary answered the latest health check. Readiness uses this rather than a query
   * per probe, so a saturated pool cannot make every pod unready at once.
   */
  get primaryReachable(): boolean {
    return this.primaryUp;
  }

  /** Whether reads currently go to the replica. */
  get replicaInUse(): boolean {
    return this.replica !== undefined && this.replicaUsable;
  }

  query<R extends pg.QueryResultRow>(
    pool: PoolName,
    operation: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    const target = pool === "replica" && this.replica ? this.replica : this.primary;
    return this.timed(pool === "replica" && this.replica ? "replica" : "primary", operation, () =>
      target.query<R>(sql, params),
    );
  }

  /** A read: on the replica unless `primary` is asked for or the replica is unusable. */
  async read<R extends pg.QueryResultRow>(
    operation: string,
    sql: string,
    params: unknown[],
    { primary = false }: { primary?: boolean } = {},
  ): Promise<pg.QueryResult<R>> {
    if (primary || !this.replicaInUse) return this.query<R>("primary", operation, sql, params);
    try {
      return await this.query<R>("replica", operation, sql, params);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.markReplica(false, "replica unreachable; reading from the primary", error);
      return this.query<R>("primary", operation, sql, params);
    }
  }

  /** Runs `work` in one transaction on the primary. */
  async transaction<T>(operation: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.timed("primary", operation, async () => {
      const client = await this.primary.connect();
      try {
        await client.query("BEGIN");
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    });
  }

  private async checkPrimary(): Promise<void> {
    try {
      await this.query("primary", "ping", "SELECT 1");
      this.primaryUp = true;
    } catch (error) {
      if (this.primaryUp) this.options.log.error({ err: error }, "primary database unreachable");
      this.primaryUp = false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.healthTimer);
    await Promise.all([this.primary.end(), this.replica?.end()]);
  }

  private async timed<T>(pool: PoolName, operation: string, run: () => Promise<T>): Promise<T> {
    const stop = this.options.metrics.dbQueryDuration.startTimer({ pool, operation });
    try {
      return await run();
    } finally {
      stop();
    }
  }

  private async checkReplica(): Promise<void> {
    try {
      const result = await this.query<{ lag: number }>("replica", "replica_lag", replicaLagSql);
      const lag = Math.max(0, result.rows[0]?.lag ?? 0);
      this.options.metrics.dbReplicaLag.set({ replica: this.replicaLabel }, lag);
      const usable = lag <= this.options.maxLagSeconds;
      this.markReplica(
        usable,
        usable ? "replica in use" : `replica lag ${lag.toFixed(1)}s; reading from the primary`,
      );
    } catch (error) {
      this.markReplica(false, "replica unreachable; reading from the primary", error);
    }
  }

  private markReplica(usable: boolean, why: string, error?: unknown): void {
    if (usable === this.replicaUsable) return;
    this.replicaUsable = usable;
    if (usable) this.options.log.info({ replica: this.replicaLabel }, why);
    else this.options.log.warn({ err: error, replica: this.replicaLabel }, why);
  }

  private recordPoolStats(): void {
    const gauge = this.options.metrics.dbPoolConnections;
    const pools: Array<[PoolName, pg.Pool | undefined]> = [
      ["primary", this.primary],
      ["replica", this.replica],
    ];
    for (const [name, pool] of pools) {
      if (!pool) continue;
      gauge.set({ pool: name, state: "active" }, pool.totalCount - pool.idleCount);
      gauge.set({ pool: name, state: "idle" }, pool.idleCount);
      gauge.set({ pool: name, state: "waiting" }, pool.waitingCount);
    }
  }
}
