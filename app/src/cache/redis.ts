/**
 * The Redis connection behind a circuit breaker. Commands fail fast instead of queueing while the
 * connection is down (no offline queue, short command timeout); a lost connection opens the breaker
 * at once and a restored one closes it, so a dead Redis costs requests nothing and
 * `parley_circuit_state{dependency="redis"}` reads 2 while Redis is down and 0 once it is back.
 */
import type { Socket } from "node:net";
import Redis from "ioredis";
import type { Logger } from "pino";
import { circuitStateValue } from "../../../contracts/metrics";
import type { Metrics } from "../telemetry/metrics";
import { CircuitBreaker } from "./circuit-breaker";

const rateLimitScript = `
local result = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  result[#result + 1] = count
  result[#result + 1] = ttl
end
return result`;

// Stores KEYS[1] (as hash field ARGV[1] when not empty) unless a pin (KEYS[3..]) exists or the cache
// generation (KEYS[2]) moved past the one the value was read under (ARGV[4]): a value read before a
// write must not land in the cache after that write's invalidation.
const cacheStoreScript = `
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[4] then return 0 end
if ARGV[1] == '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3], 'NX')
end
return 1`;

// The cached reads of one event-loop turn in one command. KEYS[1] is the cache generation; then per
// read its pins and its key, ARGV giving per read the number of pins and the hash field ('' for a
// plain key). Returns the generation, then per read 1 when any of its pins exists (else 0) and its
// value. One reply for the turn instead of a pipeline's 3–4 per read (docs/performance.md, "Redis
// client CPU per operation").
const cacheReadScript = `
local out = {redis.call('GET', KEYS[1]) or '0'}
local k = 2
for i = 1, #ARGV, 2 do
  local pinned = 0
  for j = k, k + tonumber(ARGV[i]) - 1 do
    if pinned == 0 and redis.call('EXISTS', KEYS[j]) == 1 then pinned = 1 end
  end
  k = k + tonumber(ARGV[i])
  local value
  if ARGV[i + 1] == '' then value = redis.call('GET', KEYS[k]) else value = redis.call('HGET', KEYS[k], ARGV[i + 1]) end
  k = k + 1
  out[#out + 1] = pinned
  out[#out + 1] = value
end
return out`;

// After a write: deletes KEYS[1..ARGV[1]] and sets every later key as a pin expiring in ARGV[2] ms.
const cacheInvalidateScript = `
local deleted = tonumber(ARGV[1])
if deleted > 0 then redis.call('DEL', unpack(KEYS, 1, deleted)) end
for i = deleted + 1, #KEYS do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[2])
end
return 1`;

interface ParleyRedisCommands {
  /** The generation, then each read's pinned flag and value (see cacheReadScript). */
  cacheRead(
    keyCount: number,
    ...keysThenArgs: Array<string | number>
  ): Promise<Array<string | number | null>>;
  /** Drops cached keys and sets pins (see cacheInvalidateScript). */
  cacheInvalidate(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  /** Stores a cache value unless a pin exists or the generation moved (see cacheStoreScript). */
  cacheStore(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<number>;
  /** Fixed-window counters: per key INCR (expiring after its window); returns [count, ttlMs, ...]. */
  rateLimit(keyCount: number, ...keysThenWindowsMs: Array<string | number>): Promise<number[]>;
}

export type ParleyRedis = Redis & ParleyRedisCommands;

export class RedisGuard {
  readonly client: ParleyRedis;
  readonly breaker: CircuitBreaker;
  private readonly recoveryListeners: Array<() => void> = [];

  constructor(url: string, metrics: Metrics, log: Logger) {
    const setState = (state: keyof typeof circuitStateValue) =>
      metrics.circuitState.set({ dependency: "redis" }, circuitStateValue[state]);
    let connectedOnce = false;
    this.breaker = new CircuitBreaker({
      failureThreshold: 3,
      cooldownMs: 2_000,
      onStateChange: (state) => {
        setState(state);
        if (state === "closed") for (const listener of this.recoveryListeners) listener();
        if (connectedOnce) log.warn({ dependency: "redis", state }, "redis circuit state changed");
        connectedOnce ||= state === "closed";
      },
    });
    // Unknown until the first connection: treat as open so nothing waits on it.
    this.breaker.open();
    this.client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 1_000),
    }) as ParleyRedis;
    this.client.defineCommand("rateLimit", { lua: rateLimitScript });
    this.client.defineCommand("cacheStore", { lua: cacheStoreScript });
    this.client.defineCommand("cacheRead", { lua: cacheReadScript });
    this.client.defineCommand("cacheInvalidate", { lua: cacheInvalidateScript });
    this.client.on("connect", () => coalesceWritesPerTurn(this.client.stream));
    this.client.on("ready", () => this.breaker.success());
    this.client.on("close", () => this.breaker.open());
    this.client.on("error", (error) => log.debug({ err: error }, "redis connection error"));
  }

  /** Calls `listener` each time Redis answers again (the circuit closes). */
  onRecovery(listener: () => void): void {
    this.recoveryListeners.push(listener);
  }

  /** Resolves when connected, or after `timeoutMs` (the app serves without Redis). */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.client.status === "ready") return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (value: boolean) => {
        clearTimeout(timer);
        this.client.off("ready", onReady);
        resolve(value);
      };
      const onReady = () => finish(true);
      this.client.once("ready", onReady);
    });
  }

  /** Runs a command through the breaker; throws CircuitOpenError without calling Redis when open. */
  run<T>(call: (client: ParleyRedis) => Promise<T>): Promise<T> {
    return this.breaker.run("redis", () => call(this.client));
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * Holds a connection's writes until the end of the event-loop turn (setImmediate runs after the poll
 * phase that handled this turn's requests), so the commands of every request served in one turn leave
 * in one writev instead of one write each; Redis still sees them in order. ioredis has no such option
 * (`enableAutoPipelining` builds a Pipeline per turn, which cost more client CPU than it saved in
 * docs/performance.md's measurement), so the socket's own `write` is wrapped.
 */
function coalesceWritesPerTurn(socket: Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function coalescedWrite(this: Socket, ...args: Parameters<Socket["write"]>) {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write.apply(this, args);
  } as Socket["write"];
}
