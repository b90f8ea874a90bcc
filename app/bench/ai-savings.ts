/**
 * `npm run bench:ai`: the share of AI provider calls the response caches save on a mixed scenario,
 * end to end: the app in-process on an ephemeral local platform, answering through the
 * OpenAI-compatible provider from a local fake server that counts the calls it receives.
 *
 * The scenario (fixed seed, so every run sends the same messages): 60 conversations of 5 messages
 * with a support chatbot. Each conversation opens with a frequently asked question, in one of its
 * phrasings (app/src/ai/fixtures/paraphrases.json), popular topics more often (Zipf); later messages
 * are 40% another frequently asked question, 30% a follow-up that refers back ("and how long does
 * that take?", never cached: its meaning depends on the conversation) and 30% a long-tail question
 * asked once. It runs twice, on two chatbots that differ only in the semantic cache (on at the
 * default threshold / off), so the exact-prompt cache's share and the semantic cache's are apart.
 */
import { join } from "node:path";
import { pino } from "pino";
import { freePorts, removeStateDir, startPlatform } from "../../scripts/platform";
import { startFakeOpenAi } from "../../tests/support/app/fake-openai";
import fixture from "../src/ai/fixtures/paraphrases.json";
import { loadConfig } from "../src/config";
import { migrate } from "../src/db/migrate";
import { startParley } from "../src/main";

const root = join(__dirname, "..", "..");
const conversations = 60;
const messagesPerConversation = 5;

/** Topics: phrasings of one question, grouped from the fixture's paraphrase pairs. */
function topics(): string[][] {
  const groups = new Map<string, Set<string>>();
  for (const [a, b] of fixture.paraphrases) {
    const group = groups.get(a!) ?? new Set([a!]);
    group.add(b!);
    groups.set(a!, group);
  }
  return [...groups.values()].map((group) => [...group]);
}

/** mulberry32: a small seeded PRNG, so the scenario is the same every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const followUps = [
  "and how long does that take?",
  "does that apply to my team too?",
  "can you say more about that?",
  "and what if it fails again?",
];

export function scenario(seed = 18): string[][] {
  const next = random(seed);
  const faq = topics();
  const weights = faq.map((_, rank) => 1 / (rank + 1));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const pickTopic = () => {
    let r = next() * total;
    for (let i = 0; i < faq.length; i++) {
      r -= weights[i]!;
      if (r <= 0) return faq[i]!;
    }
    return faq.at(-1)!;
  };
  const phrasing = (topic: string[]) => topic[Math.floor(next() * topic.length)]!;
  let longTail = 0;
  return Array.from({ length: conversations }, () =>
    Array.from({ length: messagesPerConversation }, (_, index) => {
      const kind = next();
      if (index === 0 || kind < 0.4) return phrasing(pickTopic());
      if (kind < 0.7) return followUps[Math.floor(next() * followUps.length)]!;
      return `Do you integrate with the tool called Widget${++longTail}?`;
    }),
  );
}

async function main(): Promise<void> {
  const stateDir = join(root, ".state", `bench-ai-${process.pid}`);
  console.log("Starting the platform:");
  const platform = await startPlatform({ stateDir, ports: await freePorts(), ephemeral: true });
  const fake = await startFakeOpenAi();
  try {
    await migrate(platform.postgresPrimary.url);
    const config = loadConfig({
      PORT: "0",
      DATABASE_URL: platform.postgresPrimary.url,
      DATABASE_REPLICA_URL: platform.postgresReplica.url,
      REDIS_URL: platform.redis.url,
      JWT_SECRET: "bench-secret-0123456789abcdef0123456789",
      AI_PROVIDER: "openai",
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY: "sk-bench",
    });
    config.rateLimits.user.limit = 1_000_000;
    config.rateLimits.ip.limit = 1_000_000;
    const app = await startParley(config, { log: pino({ level: "silent" }) });
    try {
      // biome-ignore lint/suspicious/noExplicitAny: response fields are read one by one below
      const call = async (method: string, path: string, token?: string, body?: unknown): Promise<any> => {
        const response = await fetch(`${app.url}${path}`, {
          method,
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
        return response.json();
      };
      const registered = await call("POST", "/api/auth/register", undefined, {
        email: `bench-${process.pid}@example.com`,
        password: "correct horse battery staple",
      });
      const token = registered.access_token as string;
      const script = scenario();
      const messages = script.flat().length;
      console.log(
        `\nScenario: ${conversations} conversations × ${messagesPerConversation} messages = ${messages} messages`,
      );
      console.log("| semantic cache | provider calls | saved | routing (cheap / strong) |");
      console.log("| --- | ---: | ---: | --- |");
      for (const threshold of [null, undefined]) {
        const chatbot = await call("POST", "/api/chatbots", token, {
          name: threshold === null ? "exact cache only" : "exact + semantic cache",
          system_prompt: "You answer customers of an online shop.",
          // The first phrasing of each frequently asked question, with an answer: those route cheap.
          knowledge: topics().map((topic) => ({ question: topic[0]!, answer: "See our help centre." })),
          ai: {
            cheap_model: "gpt-4o-mini",
            strong_model: "gpt-4o",
            ...(threshold === null ? { semantic_cache_threshold: null } : {}),
          },
        });
        fake.received.length = 0;
        for (const turns of script) {
          const conversation = await call("POST", `/api/chatbots/${chatbot.id}/conversations`, token, {});
          for (const content of turns)
            await call("POST", `/api/conversations/${conversation.id}/messages`, token, { content });
        }
        const calls = fake.received.length;
        const cheap = fake.received.filter((request) => request.model === "gpt-4o-mini").length;
        const label = threshold === null ? "off (exact prompts only)" : "on (default threshold)";
        console.log(
          `| ${label} | ${calls} of ${messages} | ${((1 - calls / messages) * 100).toFixed(1)}% | ${cheap} / ${calls - cheap} |`,
        );
      }
    } finally {
      await app.close();
    }
  } finally {
    await fake.close();
    await platform.stop();
    removeStateDir(stateDir);
  }
}

if (/ai-savings\.[cm]?[jt]s$/.test(process.argv[1] ?? ""))
  main().catch((error: unknown) => {
    console.error(`bench:ai failed: ${(error as Error).message}`);
    process.exit(1);
  });
