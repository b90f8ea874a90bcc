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
import { perTurnLoader } from "./per-turn-loader";
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

/**
 * The cache generation: every entry records the generation it was stored under and counts only while
 * it is current, so one INCR retires the whole cache (after invalidations were lost).
 */
const generationKey = "cache:generation";

/**
 * A stored entry is the JSON object `{"g":<generation>,"v":<value>}`, written as text around the
 * value's own JSON, so a hit of the current generation is the text between this prefix and the final
 * brace, without parsing.
 */
const entryPrefix = (generation: string) => `{"g":${JSON.stringify(generation)},"v":`;

/** The value's JSON text in a stored entry of this generation; undefined for none, or another generation's. */
function storedJson(entry: string | null, generation: string): string | undefined {
  if (entry === null) return undefined;
  const prefix = entryPrefix(generation);
  return entry.startsWith(prefix) && entry.endsWith("}") ? entry.slice(prefix.length, -1) : undefined;
}

/** What a read asks Redis for: its pins and its value. */
interface Lookup {
  pins: string[];
  key: string;
  field?: string;
}

/**
 * A hit's JSON text, or for a miss where to rebuild from and the generation to store under (none
 * when Redis could not be read: nothing is stored then).
 */
type Outcome =
  | { json: string; pinned: false; generation?: undefined }
  | { json?: undefined; pinned: boolean; generation?: string };

/** What Redis answered for one read. */
interface Found {
  pinned: boolean;
  generation: string;
  value: string | null;
}

/**
 * Reads of one turn that ask for the same value under the same pins are sent once: a cached page read
 * by 20 clients in one turn came back from Redis 20 times, each copy parsed into a string of its own.
 */
const lookupIdentity = ({ key, field, pins }: Lookup) =>
  `${key}\u0000${field ?? ""}\u0000${pins.join("\u0000")}`;

/** Reads per script call: bounds the time one call holds Redis. */
const maxReadsPerCall = 500;

export class Cache {
  private readonly flights = new SingleFlight<unknown>();
  /**
   * The reads of one event-loop turn in one script call (one generation read for all), as the rate
   * limits are: one command and one reply per turn instead of one per read.
   */
  private readonly lookups = perTurnLoader<Lookup, Found>(
    async (reads) => {
      const keys = [generationKey, ...reads.flatMap(({ pins, key }) => [...pins, key])];
      const args = reads.flatMap(({ pins, field }) => [pins.length, field ?? ""]);
      const reply = await this.redis.run((client) => client.cacheRead(keys.length, ...keys, ...args));
      const generation = String(reply[0]);
      return reads.map((_, index) => ({
        pinned: reply[1 + index * 2] === 1,
        generation,
        value: (reply[2 + index * 2] as string | null) ?? null,
      }));
    },
    maxReadsPerCall,
    lookupIdentity,
  );
  /**
   * The pins asked about in one event-loop turn (pinned()) in one MGET, as the reads and the rate
   * limits are batched: an uncached list page sent an EXISTS of its own, one command and one round
   * trip per page (docs/performance.md, twelfth round). Pins are strings (cacheInvalidateScript), so
   * a pin is set where MGET finds a value.
   */
  private readonly pinLookups = perTurnLoader<readonly string[], boolean>(async (asked) => {
    const distinct = [...new Set(asked.flat())];
    const values = await this.redis.run((client) => client.mget(...distinct));
    const set = new Set(distinct.filter((_, index) => values[index] !== null));
    return asked.map((pins) => pins.some((pin) => set.has(pin)));
  }, maxReadsPerCall);
  /** Pins written by this process, used while Redis cannot tell. */
  private readonly localPins = new Map<string, number>();
  /** An invalidation failed: cached entries may be stale until the generation is bumped. */
  private lostInvalidation = false;

  constructor(
    private readonly redis: RedisGuard,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly pinMs: number,
    /**
     * The longest a replica that is still read may be behind the primary: its lag bound plus one lag
     * check. A pin set when a write began still covers the write when this much of it is left at the
     * write's end.
     */
    private readonly replicaBehindMs = 0,
  ) {
    // Retire what may be stale as soon as Redis is back, before other pods read it.
    redis.onRecovery(() => void this.repair().catch(() => undefined));
  }

  async read<T>(request: CachedRead<T>): Promise<T> {
    const found = await this.lookup(request);
    if (found.json !== undefined) return JSON.parse(found.json) as T;
    return (await this.rebuild(request, found)).value;
  }

  /**
   * read() for a value that is only sent on: its JSON text (null for a null value). A hit is the stored
   * text itself, never parsed and serialized again: that was 4 µs of a cached chatbot read and 20 µs of
   * a cached 20-message page (docs/performance.md).
   */
  async readJson<T>(request: CachedRead<T | null>): Promise<string | null> {
    const found = await this.lookup(request);
    if (found.json !== undefined) return found.json;
    const { value, json } = await this.rebuild(request, found);
    return value === null ? null : (json ?? JSON.stringify(value));
  }

  /** The cached value's JSON text, or what a rebuild needs to know: primary or replica, and the generation. */
  private async lookup({
    cache,
    key,
    field,
    pins,
  }: Omit<CachedRead<never>, "load" | "cacheable">): Promise<Outcome> {
    const pinned = this.pinnedLocally(pins);
    try {
      await this.repair();
      const found = await this.lookups.load({ pins, key, field });
      // A pinned resource was written a moment ago: whatever is cached may predate the write (its
      // invalidation may have failed), so it is read from the primary instead.
      const json = found.pinned || pinned ? undefined : storedJson(found.value, found.generation);
      if (json !== undefined) {
        this.count(cache, "hit");
        return { json, pinned: false };
      }
      this.count(cache, "miss");
      return { pinned: pinned || found.pinned, generation: found.generation };
    } catch (error) {
      this.count(cache, "error");
      this.log.debug({ err: error, cache }, "cache read failed; reading from the database");
      return { pinned };
    }
  }

  /**
   * Loads a missed value (one load per key at a time) and stores it unless the cache could not be read;
   * with the JSON text it was stored as, serialized once for the store and for readJson.
   */
  private rebuild<T>(
    request: CachedRead<T>,
    { pinned, generation }: Outcome,
  ): Promise<{ value: T; json?: string }> {
    const { key, field } = request;
    const flightKey = `${key}\u0000${field ?? ""}\u0000${pinned ? "primary" : "replica"}`;
    return this.flights.run(flightKey, async () => {
      const value = await request.load(pinned);
      if (generation === undefined || !(request.cacheable?.(value) ?? true)) return { value };
      const json = JSON.stringify(value);
      this.store(request, json, generation);
      return { value, json };
    }) as Promise<{ value: T; json?: string }>;
  }

  /** Whether any of the pins is set: reads of those resources go to the primary. */
  async pinned(pins: string[]): Promise<boolean> {
    if (this.pinnedLocally(pins)) return true;
    try {
      return await this.pinLookups.load(pins);
    } catch {
      return false;
    }
  }

  /** After a write: drops the cached keys and pins the written resources to the primary. */
  async invalidate(keys: string[], pins: string[]): Promise<void> {
    this.pinLocally(pins);
    try {
      await this.redis.run((client) =>
        client.cacheInvalidate(keys.length + pins.length, ...keys, ...pins, keys.length, this.pinMs),
      );
    } catch (error) {
      // Everything cached may now be stale: the next use of Redis first retires it all (repair()).
      this.lostInvalidation = true;
      // While the circuit is open the outage is already reported once; don't repeat it per write.
      const level = error instanceof CircuitOpenError ? "debug" : "warn";
      this.log[level]({ err: error, keys }, "cache invalidation failed");
    }
  }

  /**
   * After a write whose pins were set when it began, at `pinnedAt` (so that one round trip was saved):
   * sets them again, for a full window from now and without waiting, when what is left of them might
   * end before a replica has the write. A write that took less than the window minus `replicaBehindMs`
   * (8 s and 6 s by default: any write under 2 s) needs nothing, and sends nothing. If Redis fails,
   * the pins set before still hold, and so do this process's.
   */
  repinAfter(pins: string[], pinnedAt: number): void {
    if (Date.now() - pinnedAt <= this.pinMs - this.replicaBehindMs) return;
    this.pinLocally(pins);
    this.redis
      .run((client) => client.cacheInvalidate(pins.length, ...pins, 0, this.pinMs))
      .catch((error) => this.log.debug({ err: error, pins }, "re-pinning failed"));
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

  /**
   * After an invalidation was lost (Redis unreachable during a write), bumps the cache generation
   * before this process uses the cache again, so every entry stored before — on any pod — reads as a
   * miss. Throws (the caller reads the database) until Redis takes the bump.
   */
  private async repair(): Promise<void> {
    if (!this.lostInvalidation) return;
    await this.redis.run((client) => client.incr(generationKey));
    this.lostInvalidation = false;
    this.log.info("cache generation bumped after a lost invalidation");
  }

  /**
   * Stores unless a pin appeared or the generation changed meanwhile; a hash expires as a whole,
   * counted from its first field.
   */
  private store<T>({ key, field, pins, ttlSeconds }: CachedRead<T>, json: string, generation: string): void {
    this.redis
      .run((client) =>
        client.cacheStore(
          2 + pins.length,
          key,
          generationKey,
          ...pins,
          field ?? "",
          `${entryPrefix(generation)}${json}}`,
          ttlSeconds,
          generation,
        ),
      )
      .catch((error) => this.log.debug({ err: error, key }, "cache write failed"));
  }

  private pinnedLocally(pins: string[]): boolean {
    const now = Date.now();
    return pins.some((pin) => (this.localPins.get(pin) ?? 0) > now);
  }

  /** Pins these resources in this process for a full window from now. */
  private pinLocally(pins: string[]): void {
    const until = Date.now() + this.pinMs;
    for (const pin of pins) this.localPins.set(pin, until);
    this.pruneLocalPins();
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
