/**
 * The database: a primary pool for writes and one pool per read replica, created once. Reads are
 * balanced (round robin) among the replicas that are reachable and within the lag bound; the primary
 * serves them when the caller needs it (read-your-writes) or no replica is usable, and a read that
 * cannot reach a replica is retried on the next one, then on the primary. While the primary is
 * unreachable, writes fail at once with DatabaseUnavailableError (a 503 with Retry-After) and reads
 * go to any reachable replica, however far behind: stale beats nothing.
 *
 * Every query has a client-side timeout (a frozen server never holds a request longer than
 * connectTimeoutMs + queryTimeoutMs), and health checks run on connections of their own, so a
 * saturated pool never reads as a dead server.
 *
 * Replica lag is measured against the primary's WAL position: each round samples the primary's
 * `pg_current_wal_lsn()`, then each replica's replay position; lag is the age of the newest primary
 * sample the replica has replayed (0 when it has replayed the latest). A replica whose WAL receiver
 * is not running has stopped receiving: its lag is at least the time since it last was, and keeps
 * growing, even while the primary is idle.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import { BoundedMap } from "../cache/bounded-map";
import type { Metrics } from "../telemetry/metrics";
import { isoTimestampTypes } from "./timestamps";

export type PoolName = "primary" | "replica";

export interface DatabaseOptions {
  primaryUrl: string;
  replicaUrls?: string[];
  primaryMax: number;
  /** Per replica. */
  replicaMax: number;
  maxLagSeconds: number;
  checkIntervalMs: number;
  /** Longest wait for a connection (pool slot or new connection). */
  connectTimeoutMs?: number;
  /** Longest wait for a query's answer, measured by the client (a frozen server cannot stall it). */
  queryTimeoutMs?: number;
  metrics: Metrics;
  log: Logger;
}

/** The database needed for this request cannot be reached: retry later (503 + Retry-After). */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  readonly retryAfterSeconds = 2;
}

/** What a transaction's work runs its statements on. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** Errors that mean "this server cannot be reached", as opposed to a bad query. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : "";
  return (
    [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "EPIPE",
      "EHOSTUNREACH",
      "57P01",
      "57P02",
      "57P03",
      "08006",
      "08001",
      "08003",
    ].includes(code) ||
    /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error/i.test(
      message,
    )
  );
}

const primaryPositionSql = "SELECT pg_current_wal_lsn()::text AS lsn";
// The WAL receiver's pid is visible to every role (its other columns need pg_read_all_stats).
const replicaPositionSql = `SELECT pg_is_in_recovery() AS in_recovery,
  COALESCE(pg_last_wal_replay_lsn(), '0/0')::text AS replay_lsn,
  EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL AND status IS DISTINCT FROM 'starting') AS receiving`;

/** A `pg_lsn` text (`16/B374D848`) as a number that orders like the position. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split("/");
  return (BigInt(`0x${high ?? "0"}`) << 32n) + BigInt(`0x${low ?? "0"}`);
}

/** Where the primary's WAL was, and when: each distinct position with the last time it was current. */
interface PrimarySample {
  lsn: bigint;
  firstSeenAt: number;
  lastSeenAt: number;
}

/** Samples kept: beyond the lag bound by far, so the exported lag keeps its meaning while high. */
const maxSamples = 600;

/**
 * The lag of a replica that has replayed up to `replayed`, given the primary's recent positions
 * (oldest first): 0 when it replayed the latest; else the time since the primary was last seen at a
 * position the replica has; else (it is behind every sample) at least the age of the oldest sample.
 */
export function lagFromSamples(samples: PrimarySample[], replayed: bigint, now: number): number {
  const latest = samples.at(-1);
  if (!latest || replayed >= latest.lsn) return 0;
  for (let index = samples.length - 1; index >= 0; index--) {
    const sample = samples[index]!;
    if (sample.lsn <= replayed) return (now - sample.lastSeenAt) / 1000;
  }
  return (now - samples[0]!.firstSeenAt) / 1000;
}

interface Replica {
  label: string;
  pool: pg.Pool;
  health: pg.Pool;
  reachable: boolean;
  /** Within the lag bound (and reachable): reads are balanced over these. */
  usable: boolean;
  /** The last time its WAL receiver was seen running (or it was not a standby at all). */
  lastReceivingAt: number;
  /** Whether a health check has run: the first one's outcome is logged whatever it is. */
  checked: boolean;
}

const labelOf = (url: string) => {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "5432"}`;
};

export class Database {
  readonly primary: pg.Pool;
  private readonly primaryHealth: pg.Pool;
  private readonly replicas: Replica[] = [];
  private readonly samples: PrimarySample[] = [];
  private nextReplica = 0;
  private healthTimer?: NodeJS.Timeout;
  private primaryUp = false;
  /** Whether a health check has run: a primary unreachable from the start is logged too. */
  private primaryChecked = false;
  /** Prepared statement names by SQL text; the app's statements are a few dozen fixed texts. */
  private readonly statementNames = new BoundedMap<string, string>(1_000);
  private readonly queryTimeoutMs: number;

  constructor(private readonly options: DatabaseOptions) {
    const connectTimeoutMs = options.connectTimeoutMs ?? 1_000;
    this.queryTimeoutMs = options.queryTimeoutMs ?? 1_000;
    const common = {
      connectionTimeoutMillis: connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      statement_timeout: 15_000,
      types: isoTimestampTypes,
    };
    // pg attaches the whole client to these errors: log only what explains them.
    const idleError = (pool: PoolName) => (error: Error & { code?: string }) =>
      options.log.warn({ pool, error: error.message, code: error.code }, "idle database connection failed");
    const pool = (connectionString: string, max: number, name: PoolName) => {
      const created = new pg.Pool({ connectionString, max, ...common });
      created.on("error", idleError(name));
      return created;
    };
    this.primary = pool(options.primaryUrl, options.primaryMax, "primary");
    this.primaryHealth = pool(options.primaryUrl, 1, "primary");
    const { metrics } = options;
    metrics.dbPoolMaxConnections.set({ pool: "primary" }, options.primaryMax);
    const replicaUrls = options.replicaUrls ?? [];
    for (const url of replicaUrls)
      this.replicas.push({
        label: labelOf(url),
        pool: pool(url, options.replicaMax, "replica"),
        health: pool(url, 1, "replica"),
        reachable: false,
        usable: false,
        lastReceivingAt: Date.now(),
        checked: false,
      });
    if (replicaUrls.length > 0)
      metrics.dbPoolMaxConnections.set({ pool: "replica" }, options.replicaMax * replicaUrls.length);
    metrics.beforeScrape(() => this.recordPoolStats());
  }

  /** Starts the health checks (primary reachable, replica lag); resolves after the first round. */
  async start(): Promise<void> {
    await this.checkHealth();
    this.healthTimer = setInterval(() => void this.checkHealth(), this.options.checkIntervalMs);
    this.healthTimer.unref();
  }

  /**
   * Whether the primary answered the latest health check. Readiness uses this rather than a query
   * per probe, so a saturated pool cannot make every pod unready at once.
   */
  get primaryReachable(): boolean {
    return this.primaryUp;
  }

  /** Whether reads currently go to a replica. */
  get replicaInUse(): boolean {
    return this.readReplicas().length > 0;
  }

  /** Each replica's state, for readiness and tests. */
  replicaStates(): Array<{ replica: string; reachable: boolean; usable: boolean }> {
    return this.replicas.map(({ label, reachable, usable }) => ({ replica: label, reachable, usable }));
  }

  /**
   * A statement on the primary (writes, and reads that must see the latest data). Every statement, here
   * and on the replicas, is a named prepared statement: each connection parses it once, and PostgreSQL
   * switches to a generic plan only where it costs no more than the custom ones (plan_cache_mode auto)
   * — the batched exchange statement alone took 0.2–1.2 ms to plan per call (docs/performance.md).
   * Partitions are still pruned, at executor start-up instead of at planning.
   */
  query<R extends pg.QueryResultRow>(
    _pool: "primary",
    operation: string,
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    this.assertPrimaryUp();
    const name = this.statementName(operation, sql);
    return this.timed("primary", operation, () => this.run<R>(this.primary, sql, params, name));
  }

  /** The operation and a hash of the text: a statement's variants (with or without a cursor) differ. */
  private statementName(operation: string, sql: string): string {
    let name = this.statementNames.get(sql);
    if (!name) {
      name = `${operation}/${createHash("sha256").update(sql).digest("base64url").slice(0, 12)}`;
      this.statementNames.set(sql, name);
    }
    return name;
  }

  /** A read: on a replica unless `primary` is asked for or no replica is usable. */
  async read<R extends pg.QueryResultRow>(
    operation: string,
    sql: string,
    params: unknown[],
    { primary = false }: { primary?: boolean } = {},
  ): Promise<pg.QueryResult<R>> {
    const candidates = primary && this.primaryUp ? [] : this.readReplicas();
    const name = this.statementName(operation, sql);
    for (const replica of candidates) {
      try {
        return await this.timed("replica", operation, () => this.run<R>(replica.pool, sql, params, name));
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        this.markReplica(replica, { reachable: false, usable: false }, "replica unreachable", error);
      }
    }
    try {
      return await this.query<R>("primary", operation, sql, params);
    } catch (error) {
      // The primary stopped answering before its health check noticed: stale beats nothing.
      const fallback = this.replicas.find((replica) => replica.reachable);
      if (!(error instanceof DatabaseUnavailableError) || !fallback) throw error;
      return this.timed("replica", operation, () => this.run<R>(fallback.pool, sql, params));
    }
  }

  /** Runs `work` in one transaction on the primary. */
  async transaction<T>(operation: string, work: (client: Queryable) => Promise<T>): Promise<T> {
    this.assertPrimaryUp();
    return this.timed("primary", operation, async () => {
      const client = await this.primary.connect().catch((error: unknown) => {
        throw this.unavailable(error);
      });
      const queryable: Queryable = {
        query: <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
          client.query<R>({
            text: sql,
            values: params,
            query_timeout: this.queryTimeoutMs,
          } as pg.QueryConfig),
      };
      let broken: unknown;
      // A checked-out client has no pool listener: a server that ends the connection between two
      // queries (a restart, a failover) would emit an unhandled 'error' and stop the process.
      const onError = (error: unknown) => {
        broken = error;
      };
      client.on("error", onError);
      try {
        await queryable.query("BEGIN");
        const result = await work(queryable);
        await queryable.query("COMMIT");
        return result;
      } catch (error) {
        if (isConnectionError(error)) {
          broken = error;
          throw this.unavailable(error);
        }
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.off("error", onError);
        // A connection that timed out or broke is discarded, never handed to the next request.
        client.release(broken === undefined ? undefined : true);
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.healthTimer);
    await Promise.all([
      this.primary.end(),
      this.primaryHealth.end(),
      ...this.replicas.flatMap((replica) => [replica.pool.end(), replica.health.end()]),
    ]);
  }

  /** The usable replicas, rotated so consecutive reads spread over them. */
  private readReplicas(): Replica[] {
    let live = this.replicas.filter((replica) => replica.usable);
    // With the primary down, a reachable replica however far behind still serves reads.
    if (live.length === 0 && !this.primaryUp) live = this.replicas.filter((replica) => replica.reachable);
    if (live.length <= 1) return live;
    const start = this.nextReplica++ % live.length;
    return [...live.slice(start), ...live.slice(0, start)];
  }

  private assertPrimaryUp(): void {
    if (!this.primaryUp) throw new DatabaseUnavailableError("the primary database is unreachable");
  }

  private unavailable(error: unknown): DatabaseUnavailableError {
    if (error instanceof DatabaseUnavailableError) return error;
    // Replicas' statements come here too: the log line around it names which server it was.
    return new DatabaseUnavailableError("the database server did not answer", { cause: error });
  }

  /** One statement with the client-side timeout; a connection failure becomes DatabaseUnavailableError. */
  private async run<R extends pg.QueryResultRow>(
    pool: pg.Pool,
    sql: string,
    params: unknown[],
    name?: string,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await pool.query<R>({
        name,
        text: sql,
        values: params,
        query_timeout: this.queryTimeoutMs,
      } as pg.QueryConfig);
    } catch (error) {
      if (isConnectionError(error)) throw this.unavailable(error);
      throw error;
    }
  }

  private async timed<T>(pool: PoolName, operation: string, run: () => Promise<T>): Promise<T> {
    const stop = this.options.metrics.dbQueryDuration.startTimer({ pool, operation });
    try {
      return await run();
    } finally {
      stop();
    }
  }

  /** One round: the primary first (its WAL position), then every replica against it. */
  private async checkHealth(): Promise<void> {
    await this.checkPrimary();
    await Promise.all(this.replicas.map((replica) => this.checkReplica(replica)));
  }

  private async checkPrimary(): Promise<void> {
    try {
      const answer = await this.run<{ lsn: string | null }>(this.primaryHealth, primaryPositionSql, []);
      const lsnText = answer.rows[0]?.lsn;
      // A primary that is itself a standby (no WAL position of its own) gives no samples.
      if (lsnText) this.recordSample(parseLsn(lsnText), Date.now());
      if (!this.primaryUp) this.options.log.info("primary database reachable");
      this.primaryUp = true;
    } catch (error) {
      if (this.primaryUp || !this.primaryChecked)
        this.options.log.error({ err: error }, "primary database unreachable");
      this.primaryUp = false;
    }
    this.primaryChecked = true;
  }

  private recordSample(lsn: bigint, now: number): void {
    const latest = this.samples.at(-1);
    if (latest && latest.lsn === lsn) latest.lastSeenAt = now;
    else this.samples.push({ lsn, firstSeenAt: now, lastSeenAt: now });
    if (this.samples.length > maxSamples) this.samples.shift();
  }

  private async checkReplica(replica: Replica): Promise<void> {
    let lag: number;
    try {
      const result = await this.run<{ in_recovery: boolean; replay_lsn: string; receiving: boolean }>(
        replica.health,
        replicaPositionSql,
        [],
      );
      const row = result.rows[0]!;
      const now = Date.now();
      if (!row.in_recovery) lag = 0;
      else {
        if (row.receiving) replica.lastReceivingAt = now;
        lag = Math.max(
          lagFromSamples(this.samples, parseLsn(row.replay_lsn), now),
          row.receiving ? 0 : (now - replica.lastReceivingAt) / 1000,
        );
      }
      if (!row.in_recovery) replica.lastReceivingAt = now;
    } catch (error) {
      this.markReplica(replica, { reachable: false, usable: false }, "replica unreachable", error);
      return;
    }
    this.options.metrics.dbReplicaLag.set({ replica: replica.label }, lag);
    const usable = lag <= this.options.maxLagSeconds;
    this.markReplica(
      replica,
      { reachable: true, usable },
      usable ? "replica in use" : `replica lag ${lag.toFixed(1)}s; not reading from it`,
    );
  }

  private markReplica(
    replica: Replica,
    state: { reachable: boolean; usable: boolean },
    why: string,
    error?: unknown,
  ): void {
    const changed = !replica.checked || state.usable !== replica.usable;
    replica.checked = true;
    replica.reachable = state.reachable;
    replica.usable = state.usable;
    if (!changed) return;
    if (state.usable) this.options.log.info({ replica: replica.label }, why);
    else this.options.log.warn({ err: error, replica: replica.label }, why);
  }

  private recordPoolStats(): void {
    const gauge = this.options.metrics.dbPoolConnections;
    const pools: Array<[PoolName, pg.Pool[]]> = [
      ["primary", [this.primary]],
      ["replica", this.replicas.map((replica) => replica.pool)],
    ];
    for (const [name, members] of pools) {
      if (members.length === 0) continue;
      const sum = (count: (pool: pg.Pool) => number) =>
        members.reduce((total, pool) => total + count(pool), 0);
      gauge.set(
        { pool: name, state: "active" },
        sum((pool) => pool.totalCount - pool.idleCount),
      );
      gauge.set(
        { pool: name, state: "idle" },
        sum((pool) => pool.idleCount),
      );
      gauge.set(
        { pool: name, state: "waiting" },
        sum((pool) => pool.waitingCount),
      );
    }
  }
}
