/**
 * The cache against a real Redis: one rebuild per key for concurrent misses, hits afterwards, pins
 * route rebuilds to the primary and keep what they read out of the cache, invalidation drops every
 * page of a hash, and a failed Redis read falls through to the loader (counted as an error).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { eventually } from "../../tests/support/app/faults";
import { createTestRedisUrl } from "../../tests/support/platform";
import { Cache } from "../src/cache/cache";
import { RedisGuard } from "../src/cache/redis";
import { createMetrics, type Metrics } from "../src/telemetry/metrics";

let redis: RedisGuard;
let cache: Cache;
let metrics: Metrics;
const log = pino({ level: "silent" });

beforeAll(async () => {
  metrics = createMetrics({ version: "test", commit: "test" });
  redis = new RedisGuard(await createTestRedisUrl(), metrics, log);
  expect(await redis.ready(5_000)).toBe(true);
  cache = new Cache(redis, metrics, log, 500);
});
afterAll(() => redis?.close());

const counted = async (result: string) =>
  (await metrics.cacheRequests.get()).values.find(
    (value) => value.labels.cache === "t" && value.labels.result === result,
  )?.value ?? 0;

/** A loader that takes a while and records where it was asked to read from. */
function slowLoader(value: string) {
  const calls: boolean[] = [];
  return {
    calls,
    load: async (fromPrimary: boolean) => {
      calls.push(fromPrimary);
      await sleep(100);
      return value;
    },
  };
}

it("rebuilds once for concurrent misses, then serves hits", async () => {
  const loader = slowLoader("v1");
  const read = () => cache.read({ cache: "t", key: "k1", ttlSeconds: 60, pins: [], load: loader.load });
  expect(await Promise.all(Array.from({ length: 10 }, read))).toEqual(Array(10).fill("v1"));
  expect(loader.calls).toEqual([false]);
  await eventually(async () => (await redis.client.exists("k1")) === 1, "k1 written to Redis");
  const hitsBefore = await counted("hit");
  expect(await read()).toBe("v1");
  expect(loader.calls).toHaveLength(1);
  expect(await counted("hit")).toBe(hitsBefore + 1);
  expect(await redis.client.ttl("k1")).toBeGreaterThan(50);
});

it("reads pinned resources from the primary and does not cache what it read", async () => {
  await cache.invalidate(["k2"], ["pin:k2"]);
  const loader = slowLoader("fresh");
  const request = {
    cache: "t",
    key: "k2",
    field: "first:50",
    ttlSeconds: 60,
    pins: ["pin:k2"],
    load: loader.load,
  };
  expect(await cache.read(request)).toBe("fresh");
  expect(loader.calls).toEqual([true]);
  await sleep(50);
  expect(await redis.client.exists("k2")).toBe(0);
  await sleep(500); // the pin expires
  await cache.read(request);
  expect(loader.calls).toEqual([true, false]);
  await eventually(async () => (await redis.client.hexists("k2", "first:50")) === 1, "k2 rebuilt");
  expect(await redis.client.ttl("k2")).toBeGreaterThan(50);
});

it("drops every cached page of a hash on invalidation", async () => {
  const load = async () => "page";
  for (const field of ["first:10", "cursor:10"])
    await cache.read({ cache: "t", key: "k3", field, ttlSeconds: 60, pins: [], load });
  await eventually(async () => (await redis.client.hlen("k3")) === 2, "both pages of k3 written");
  await cache.invalidate(["k3"], ["pin:k3"]);
  expect(await redis.client.exists("k3")).toBe(0);
  expect(await redis.client.pttl("pin:k3")).toBeGreaterThan(0);
  expect(await cache.pinned(["pin:k3"])).toBe(true);
});

it("falls through to the loader when Redis fails, counting an error", async () => {
  const errorsBefore = await counted("error");
  redis.breaker.open();
  const loader = slowLoader("from-db");
  expect(await cache.read({ cache: "t", key: "k4", ttlSeconds: 60, pins: [], load: loader.load })).toBe(
    "from-db",
  );
  expect(await counted("error")).toBe(errorsBefore + 1);
  redis.breaker.success();
});

it("sees another pod's pins through Redis alone, on any of a read's pins", async () => {
  // A second pod: its own Cache, so none of the pins below is known to it locally.
  const otherPod = new Cache(redis, metrics, log, 500);
  const load = async () => "cached";
  const request = { cache: "t", key: "k5", ttlSeconds: 60, pins: ["pin:k5a", "pin:k5b"], load };
  await otherPod.read(request);
  await eventually(async () => (await redis.client.exists("k5")) === 1, "k5 written to Redis");
  await cache.invalidate([], ["pin:k5b"]);
  const loader = slowLoader("fresh");
  expect(await otherPod.read({ ...request, load: loader.load })).toBe("fresh");
  expect(loader.calls).toEqual([true]);
});

it("counts an entry only under the generation it was stored in", async () => {
  const load = async () => "old";
  const request = { cache: "t", key: "k6", ttlSeconds: 60, pins: [], load };
  await cache.read(request);
  await eventually(async () => (await redis.client.exists("k6")) === 1, "k6 written to Redis");
  await redis.client.incr("cache:generation");
  const loader = slowLoader("new");
  expect(await cache.read({ ...request, load: loader.load })).toBe("new");
  expect(loader.calls).toEqual([false]);
});

it("answers one turn's reads with one Redis call, each with its own pins, key and field", async () => {
  const load = (value: string) => async () => value;
  await cache.read({ cache: "t", key: "k7", ttlSeconds: 60, pins: [], load: load("plain") });
  await cache.read({ cache: "t", key: "k8", field: "f", ttlSeconds: 60, pins: [], load: load("field") });
  await eventually(
    async () => (await redis.client.exists("k7")) + (await redis.client.hexists("k8", "f")) === 2,
    "k7 and k8's field written to Redis",
  );
  await redis.client.set("pin:k9", "1", "PX", 60_000);
  const loaders = ["plain again", "field again", "k9 fresh", "k10 fresh"].map((value) => slowLoader(value));
  const calls = vi.spyOn(redis.client, "cacheRead");
  const values = await Promise.all([
    cache.read({ cache: "t", key: "k7", ttlSeconds: 60, pins: ["pin:none"], load: loaders[0]!.load }),
    cache.read({ cache: "t", key: "k8", field: "f", ttlSeconds: 60, pins: [], load: loaders[1]!.load }),
    cache.read({
      cache: "t",
      key: "k9",
      ttlSeconds: 60,
      pins: ["pin:none", "pin:k9"],
      load: loaders[2]!.load,
    }),
    cache.read({ cache: "t", key: "k10", field: "f", ttlSeconds: 60, pins: [], load: loaders[3]!.load }),
  ]);
  expect(calls).toHaveBeenCalledTimes(1);
  calls.mockRestore();
  expect(values).toEqual(["plain", "field", "k9 fresh", "k10 fresh"]);
  expect(loaders.map((loader) => loader.calls)).toEqual([[], [], [true], [false]]);
});

it("sends a turn's reads of the same key, field and pins once, and gives each its own answer", async () => {
  const load = (value: string) => async () => value;
  await cache.read({ cache: "t", key: "k13", field: "f", ttlSeconds: 60, pins: [], load: load("shared") });
  await eventually(
    async () => (await redis.client.hexists("k13", "f")) === 1,
    "k13's field written to Redis",
  );
  await redis.client.set("pin:k13", "1", "PX", 60_000);
  const notLoaded = slowLoader("not read");
  const pinnedLoader = slowLoader("from the primary");
  const hitsBefore = await counted("hit");
  const calls = vi.spyOn(redis.client, "cacheRead");
  const same = { cache: "t", key: "k13", field: "f", ttlSeconds: 60, pins: [], load: notLoaded.load };
  const values = await Promise.all([
    cache.readJson(same),
    cache.read(same),
    cache.readJson(same),
    // The same key under a pin, and another field: reads of their own.
    cache.read({ ...same, pins: ["pin:k13"], load: pinnedLoader.load }),
    cache.read({ ...same, field: "g", load: load("g") }),
  ]);
  expect(calls).toHaveBeenCalledTimes(1);
  // The script's keys: the generation, then each distinct read's pins and key (three reads, not five).
  expect(calls.mock.calls[0]!.slice(0, 6)).toEqual([5, "cache:generation", "k13", "pin:k13", "k13", "k13"]);
  calls.mockRestore();
  expect(values).toEqual(['"shared"', "shared", '"shared"', "from the primary", "g"]);
  expect(notLoaded.calls).toEqual([]);
  expect(pinnedLoader.calls).toEqual([true]);
  // Every caller is counted, shared read or not.
  expect(await counted("hit")).toBe(hitsBefore + 3);
});

it("answers one turn's pin checks with one Redis call, each with its own pins, falling back to none when Redis fails", async () => {
  // Another pod's pins: this process knows none of them locally.
  const otherPod = new Cache(redis, metrics, log, 500);
  await cache.invalidate([], ["pin:p1", "pin:p3"]);
  const calls = vi.spyOn(redis.client, "mget");
  const answers = await Promise.all([
    otherPod.pinned(["pin:p1"]),
    otherPod.pinned(["pin:p2"]),
    otherPod.pinned(["pin:p2", "pin:p3"]),
    otherPod.pinned(["pin:p1", "pin:p2"]),
  ]);
  expect(calls).toHaveBeenCalledTimes(1);
  calls.mockRestore();
  expect(answers).toEqual([true, false, true, true]);
  // Not a pin any more once it expires (500 ms here).
  await eventually(async () => !(await otherPod.pinned(["pin:p1"])), "pin:p1 expired");
  redis.breaker.open();
  expect(await otherPod.pinned(["pin:p3"])).toBe(false);
  redis.breaker.success();
});

it("answers readJson with the stored text of a hit, the same text as the value serialized, and null for null", async () => {
  const value = { at: new Date("2026-12-02T06:00:00.000Z"), text: 'quote " and \u2028', items: [1, null] };
  const request = { cache: "t", key: "k11", ttlSeconds: 60, pins: [], load: async () => value };
  const missed = await cache.readJson(request);
  expect(missed).toBe(JSON.stringify(value));
  await eventually(async () => (await redis.client.exists("k11")) === 1, "k11 written to Redis");
  const hitsBefore = await counted("hit");
  const loader = slowLoader("not read");
  expect(await cache.readJson({ ...request, load: loader.load })).toBe(missed);
  expect(await cache.read({ ...request, load: loader.load })).toEqual(JSON.parse(missed!));
  expect(loader.calls).toEqual([]);
  expect(await counted("hit")).toBe(hitsBefore + 2);
  // Under another generation the stored text is a miss, for readJson as for read.
  await redis.client.incr("cache:generation");
  expect(await cache.readJson({ ...request, load: async () => ({ fresh: true }) })).toBe('{"fresh":true}');

  const missing = {
    cache: "t",
    key: "k12",
    ttlSeconds: 60,
    pins: [],
    load: async () => null,
    cacheable: (found: unknown) => found !== null,
  };
  expect(await cache.readJson(missing)).toBeNull();
  await sleep(50);
  expect(await redis.client.exists("k12")).toBe(0);
});

it("pins again after a write only when what is left of its pin might end before a replica has it", async () => {
  // A 2 s window, replicas read up to 1 s behind: a write that ends within 1 s of its pin needs none.
  const pod = new Cache(redis, metrics, log, 2_000, 1_000);
  const pin = "pin:repin-test";
  const pinnedAt = Date.now();
  await pod.invalidate([], [pin]);
  await sleep(150);
  pod.repinAfter([pin], pinnedAt);
  await sleep(150);
  expect(await redis.client.pttl(pin)).toBeLessThanOrEqual(2_000 - (Date.now() - pinnedAt) + 50);

  // A write that took 1.5 s: 0.5 s of its pin left, less than a replica may be behind.
  await pod.invalidate([], [pin]);
  await sleep(200);
  pod.repinAfter([pin], Date.now() - 1_500);
  await eventually(async () => (await redis.client.pttl(pin)) > 1_900, "the pin set again for 2 s");
});
