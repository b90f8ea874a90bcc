/**
 * Cache-aside on Redis with per-kind TTLs, invalidation on write and one rebuild per key at a time
 * (in this process). A read costs one Redis round trip: the value and the "recently written" pins
 * that decide whether a miss must be rebuilt from the primary (read-your-writes) come back together.
 * While a resource is pinned nothing read is stored, so a value read before a write never lands in the
 * cache after that write's invalidation. When Redis fails the read falls through to PostgreSQL and the
 * failure is counted as an `error`.
 */
import type { Logger } from "pino";
import type { Metrics } from "../telemetry/metrics";
import { CircuitOpenError } from "./circuit-breaker";
import type { RedisGuard } from "./redis";
import { SingleFlight } from "./single-flight";

export interface CachedRead<T> {
  /** The `cache` label of parley_cache_requests_total. */
  cache: string;
  key: string;
  /** Stores the value as a field of a hash at `key`, so one DEL invalidates every field. */
  field?: string;
  ttlSeconds: number;
  /** Keys whose presence means "written recently": rebuild from the primary. */
  pins: string[];
  load: (fromPrimary: boolean) => Promise<T>;
  /** Whether a loaded value may be stored (e.g. not a "not found"). */
  cacheable?: (value: T) => boolean;
}

export class Cache {
  private readonly flights = new SingleFlight<unknown>();
  /** Pins written by this process, used while Redis cannot tell. */
  private readonly localPins = new Map<string, number>();

  constructor(
    private readonly redis: RedisGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly pinMs: number,
  ) {}

  async read<T>(request: CachedRead<T>): Promise<T> {
    const { cache, key, field, pins } = request;
    let pinned = this.pinnedLocally(pins);
    let redisUp = false;
    try {
      const replies = await this.redis.run(async (client) => {
        const pipeline = client.pipeline();
        for (const pin of pins) pipeline.exists(pin);
        if (field === undefined) pipeline.get(key);
        else pipeline.hget(key, field);
        return (await pipeline.exec()) ?? [];
      });
      const failed = replies.find(([error]) => error);
      if (failed) throw failed[0];
      redisUp = true;
      pinned ||= replies.slice(0, pins.length).some(([, exists]) => exists === 1);
      const cached = replies.at(-1)?.[1];
      if (typeof cached === "string") {
        this.count(cache, "hit");
        return JSON.parse(cached) as T;
      }
      this.count(cache, "miss");
    } catch (error) {
      this.count(cache, "error");
      this.log.debug({ err: error, cache }, "cache read failed; reading from the database");
    }
    const flightKey = `${key}\u0000${field ?? ""}\u0000${pinned ? "primary" : "replica"}`;
    return this.flights.run(flightKey, async () => {
      const value = await request.load(pinned);
      if (redisUp && (request.cacheable?.(value) ?? true)) this.store(request, value);
      return value;
    }) as Promise<T>;
  }

  /** Whether any of the pins is set: reads of those resources go to the primary. */
  async pinned(pins: string[]): Promise<boolean> {
    if (this.pinnedLocally(pins)) return true;
    try {
      return (await this.redis.run((client) => client.exists(...pins))) > 0;
    } catch {
      return false;
    }
  }

  /** After a write: drops the cached keys and pins the written resources to the primary. */
  async invalidate(keys: string[], pins: string[]): Promise<void> {
    const until = Date.now() + this.pinMs;
    for (const pin of pins) this.localPins.set(pin, until);
    this.pruneLocalPins();
    try {
      await this.redis.run(async (client) => {
        const pipeline = client.pipeline();
        if (keys.length > 0) pipeline.del(...keys);
        for (const pin of pins) pipeline.set(pin, "1", "PX", this.pinMs);
        await pipeline.exec();
      });
    } catch (error) {
      // The TTLs bound how long a stale entry can live if Redis missed this invalidation. While the
      // circuit is open the outage is already reported once; don't repeat it per write.
      const level = error instanceof CircuitOpenError ? "debug" : "warn";
      this.log[level]({ err: error, keys }, "cache invalidation failed");
    }
  }

  /** A plain GET/SET value (no pins, no single flight): the AI response cache. */
  async get(cache: string, key: string): Promise<string | undefined> {
    try {
      const value = await this.redis.run((client) => client.get(key));
      this.count(cache, value === null ? "miss" : "hit");
      return value ?? undefined;
    } catch {
      this.count(cache, "error");
      return undefined;
    }
  }

  set(key: string, value: string, ttlSeconds: number): void {
    this.redis.run((client) => client.set(key, value, "EX", ttlSeconds)).catch(() => undefined);
  }

  /** Stores unless a pin appeared meanwhile; a hash expires as a whole, counted from its first field. */
  private store<T>({ key, field, pins, ttlSeconds }: CachedRead<T>, value: T): void {
    this.redis
      .run((client) =>
        client.cacheStore(1 + pins.length, key, ...pins, field ?? "", JSON.stringify(value), ttlSeconds),
      )
      .catch((error) => this.log.debug({ err: error, key }, "cache write failed"));
  }

  private pinnedLocally(pins: string[]): boolean {
    const now = Date.now();
    return pins.some((pin) => (this.localPins.get(pin) ?? 0) > now);
  }

  private pruneLocalPins(): void {
    if (this.localPins.size < 10_000) return;
    const now = Date.now();
    for (const [pin, until] of this.localPins) if (until <= now) this.localPins.delete(pin);
  }

  private count(cache: string, result: "hit" | "miss" | "error"): void {
    this.metrics.cacheRequests.inc({ cache, result });
  }
}
