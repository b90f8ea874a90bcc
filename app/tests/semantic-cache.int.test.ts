/**
 * The semantic cache against a real Redis, as two pods share it: each process scores its own copy of a
 * chatbot's stored questions, read again once older than its maximum age; what it stores itself counts
 * at once, what another pod stores counts once the copy is read again.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestRedisUrl } from "../../tests/support/platform";
import { type CachedAnswer, maxStoredQuestions, SemanticCache } from "../src/ai/semantic-cache";
import { RedisGuard } from "../src/cache/redis";
import { createMetrics } from "../src/telemetry/metrics";

let redis: RedisGuard;
let redisUrl: string;
const maxAgeMs = 400;
const answer: CachedAnswer = {
  text: "Use the reset link.",
  model: "m",
  promptTokens: 10,
  completionTokens: 5,
};
const question = "How do I reset my password?";
const paraphrase = "I forgot my password, how can I reset it?";

beforeAll(async () => {
  redisUrl = await createTestRedisUrl();
  redis = new RedisGuard(redisUrl, createMetrics({ version: "t", commit: "t" }), pino({ level: "silent" }));
  expect(await redis.ready(5_000)).toBe(true);
});
afterAll(() => redis?.close());

const pod = () => new SemanticCache(redis, createMetrics({ version: "t", commit: "t" }), 60, maxAgeMs);

it("finds a question it stored itself at once", async () => {
  const cache = pod();
  expect(await cache.lookup("bot-own", "v1", question, 0.85)).toBeUndefined();
  cache.store("bot-own", "v1", question, answer);
  const hit = await cache.lookup("bot-own", "v1", paraphrase, 0.85);
  expect(hit).toMatchObject({ answer, question });
});

it("finds another pod's question once its copy is older than the maximum age, not before", async () => {
  const [storing, reading] = [pod(), pod()];
  expect(await reading.lookup("bot-shared", "v1", question, 0.85)).toBeUndefined();
  storing.store("bot-shared", "v1", question, answer);
  expect(await storing.lookup("bot-shared", "v1", paraphrase, 0.85)).toMatchObject({ answer });
  // Within the maximum age the reading pod scores the copy it read before the store.
  expect(await reading.lookup("bot-shared", "v1", paraphrase, 0.85)).toBeUndefined();
  await sleep(maxAgeMs + 50);
  expect(await reading.lookup("bot-shared", "v1", paraphrase, 0.85)).toMatchObject({ answer, question });
});

it("keeps chatbots and knowledge versions apart, and scores only questions with the same numbers", async () => {
  const cache = pod();
  cache.store("bot-a", "v1", "Is plan 2 cheaper than plan 3?", answer);
  await cache.lookup("bot-a", "v1", "anything", 0.85); // the copy now holds the stored question
  expect(await cache.lookup("bot-a", "v1", "Is plan 2 cheaper than plan 3 ?", 0.85)).toMatchObject({
    answer,
  });
  expect(await cache.lookup("bot-a", "v1", "Is plan 2 cheaper than plan 4?", 0.85)).toBeUndefined();
  expect(await cache.lookup("bot-a", "v2", "Is plan 2 cheaper than plan 3?", 0.85)).toBeUndefined();
  expect(await cache.lookup("bot-b", "v1", "Is plan 2 cheaper than plan 3?", 0.85)).toBeUndefined();
});

it("sends no new question to a chatbot that already holds the most it stores, and still stores a known one", async () => {
  const cache = pod();
  const questions = "cache:ai-semantic:bot-full:v1:q";
  await cache.lookup("bot-full", "v1", question, 0.85); // the copy every store after it counts in
  for (let plan = 1; plan <= maxStoredQuestions; plan++)
    cache.store("bot-full", "v1", `What does plan ${plan} cost?`, answer);
  // Answered after every store: the cache's commands share this connection.
  expect(await redis.client.hlen(questions)).toBe(maxStoredQuestions);
  // The scripts this process sends, seen as its client sends them. MONITOR saw them too, but on the
  // suite's shared Redis it lists every file's commands, and ioredis's monitor connection failed on
  // that traffic ("Command queue state error") in one run of the whole suite.
  const scripts: string[][] = [];
  const sendCommand = redis.client.sendCommand;
  redis.client.sendCommand = function (this: typeof redis.client, command, ...rest) {
    const args = command.args.map(String);
    if (["evalsha", "eval"].includes(command.name.toLowerCase()) && args.includes(questions))
      scripts.push(args);
    return sendCommand.call(this, command, ...rest);
  } as typeof sendCommand;
  try {
    cache.store("bot-full", "v1", "What does plan 501 cost?", answer);
    cache.store("bot-full", "v1", "What does plan 7 cost?", { ...answer, text: "Seven." });
    // Answered after any store sent before it, on the same connection.
    expect(await redis.client.hlen(questions)).toBe(maxStoredQuestions);
  } finally {
    redis.client.sendCommand = sendCommand;
  }
  expect(scripts).toHaveLength(1);
  expect(scripts[0]).toContain("What does plan 7 cost?");
  expect(await cache.lookup("bot-full", "v1", "What does plan 7 cost?", 0.85)).toMatchObject({
    answer: { text: "Seven." },
  });
});
