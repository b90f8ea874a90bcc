/**
 * Scheduled database upkeep that must run once across many pods: recomputing the latest days of the
 * daily analytics (migration 10; readers never block), creating the coming months' message partitions
 * and expiring old idempotency keys. Each round runs only in the pod that wins a try-advisory-lock; the
 * others skip it. The partitions and the analytics go through SECURITY DEFINER functions (migrations 5
 * and 10): the app's role owns nothing (./roles.ts).
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { Database } from "./database";
import { ensureMessagePartitions } from "./partitions";

/** "analytics" in ASCII: the advisory lock of the maintenance round. */
const maintenanceLock = 0x616e616c7974;

export class Maintenance {
  private timer?: NodeJS.Timeout;
  private running?: Promise<boolean>;

  constructor(
    private readonly database: Database,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One round; resolves true if this process held the lock and did the work. */
  runOnce(): Promise<boolean> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async round(): Promise<boolean> {
    let client: pg.PoolClient | undefined;
    let broken: unknown;
    // Checked out, the client has no pool listener: the server ending the connection between two
    // statements would otherwise be an unhandled 'error' that stops the process.
    const onError = (error: unknown) => {
      broken = error;
    };
    try {
      client = await this.database.primary.connect();
      client.on("error", onError);
      const locked = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
        maintenanceLock,
      ]);
      if (!locked.rows[0]?.locked) return false;
      try {
        const created = await ensureMessagePartitions(client);
        if (created.length > 0) this.log.info({ partitions: created }, "created message partitions");
        await client.query("SELECT public.parley_refresh_analytics()");
        // A retry comes within minutes; a day of idempotency keys is plenty.
        await client.query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'");
        return true;
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [maintenanceLock]);
      }
    } catch (error) {
      this.log.warn({ err: error }, "database maintenance round failed");
      return false;
    } finally {
      client?.off("error", onError);
      client?.release(broken === undefined ? undefined : true);
    }
  }
}
