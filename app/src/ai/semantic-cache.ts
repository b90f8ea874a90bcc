/**
 * The semantic response cache: a question close enough to one already answered by the same chatbot,
 * under the same knowledge version, is answered from Redis without calling the provider.
 *
 * Per (chatbot, knowledge version) two Redis hashes share one signature per stored question: one maps
 * it to the question (small: read whole and scored in process), the other to the answer (read only on
 * a hit). Each process keeps the questions it last read, at most `storedQuestionsMaxAgeMs` old, plus
 * those it stored since: reading and parsing up to 500 questions per message was a third of a
 * message's CPU (docs/performance.md). A question another pod stored a moment ago is therefore missed
 * for up to that long, which costs one provider call, never a wrong answer. The knowledge version is a
 * hash of everything that shapes an answer (system prompt, knowledge, models), so changing the prompt
 * or the knowledge starts an empty cache and the old one expires with its TTL. Look-ups count as
 * `parley_cache_requests_total{cache="ai_semantic"}`.
 */
import { createHash } from "node:crypto";
import { BoundedMap } from "../cache/bounded-map";
import type { RedisGuard } from "../cache/redis";
import { SingleFlight } from "../cache/single-flight";
import type { Metrics } from "../telemetry/metrics";
import { analyse, type Question, questionSignature, similarity } from "./question-similarity";

export const semanticCacheName = "ai_semantic";

/** Similarity a stored question needs for a hit when the chatbot does not set its own threshold. */
export const defaultSemanticThreshold = 0.85;

/** Questions kept per chatbot and knowledge version; beyond it new questions are not stored. */
export const maxStoredQuestions = 500;

export interface CachedAnswer {
  text: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
}

export interface SemanticHit {
  answer: CachedAnswer;
  /** The stored question that matched, and how closely. */
  question: string;
  score: number;
}

/** The version of a chatbot's answers: changes whenever its prompt, knowledge or models change. */
export function knowledgeVersion(chatbot: {
  system_prompt: string;
  knowledge: unknown;
  ai?: unknown;
}): string {
  return createHash("sha256")
    .update(JSON.stringify([chatbot.system_prompt, chatbot.knowledge, chatbot.ai ?? null]))
    .digest("base64url")
    .slice(0, 16);
}

/** Chatbot versions whose knowledge version a process remembers (~100 bytes each). */
const maxVersionsKept = 1_000;
const versions = new BoundedMap<string, string>(maxVersionsKept);

/**
 * knowledgeVersion, remembered per chatbot version: its id and updated_at, the version the response
 * cache's key names too. The chatbot arrives parsed afresh with every message, and serializing and
 * hashing a 62 KB knowledge base took 164 µs of each message that reached the semantic cache (0.4 µs
 * remembered; a microbenchmark over freshly parsed chatbots, docs/performance.md).
 */
export function chatbotKnowledgeVersion(chatbot: {
  id: string;
  updated_at: string;
  system_prompt: string;
  knowledge: unknown;
  ai?: unknown;
}): string {
  const key = `${chatbot.id}@${chatbot.updated_at}`;
  let version = versions.get(key);
  if (version === undefined) {
    version = knowledgeVersion(chatbot);
    versions.set(key, version);
  }
  return version;
}

// Messages that lean on the conversation so far ("and what about it?") mean different things in
// different conversations: they are neither looked up nor stored.
const contextual = /\b(it|its|that|this|these|those|they|them|above|previous|again|also|else|more)\b/i;
const firstPerson = /^\s*(and|but|so)\b/i;

/** Whether a message can be understood without the conversation before it. */
export const standalone = (message: string, hasHistory: boolean) =>
  !hasHistory || !(contextual.test(message) || firstPerson.test(message));

// Stores question ARGV[2] and answer ARGV[3] under signature ARGV[1] unless the chatbot already has
// ARGV[5] questions; both hashes expire together, ARGV[4] seconds after the first question.
const storeScript = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4], 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
return 1`;

type StoreCommand = (keyCount: number, ...keysThenArgs: Array<string | number>) => Promise<number>;

/** How old a process's copy of a chatbot's stored questions may be before a look-up reads them again. */
export const storedQuestionsMaxAgeMs = 1_000;

/** Chatbots (and knowledge versions) whose stored questions a process keeps: ≤ 10,000 questions. */
const maxChatbotsKept = 20;

interface StoredQuestion {
  signature: string;
  question: string;
  analysis: Question;
}

/**
 * A chatbot's stored questions as this process knows them, grouped by what `similarity` requires to be
 * equal (the numbers and the negation), so a look-up scores only the questions that can match.
 */
interface StoredQuestions {
  readAt: number;
  signatures: Set<string>;
  groups: Map<string, StoredQuestion[]>;
}

const groupOf = (analysis: Question) => `${analysis.numbers}|${analysis.negated}`;

function add(stored: StoredQuestions, signature: string, question: string): void {
  if (stored.signatures.has(signature)) return;
  const analysis = analyse(question);
  stored.signatures.add(signature);
  const group = stored.groups.get(groupOf(analysis));
  if (group) group.push({ signature, question, analysis });
  else stored.groups.set(groupOf(analysis), [{ signature, question, analysis }]);
}

export class SemanticCache {
  private readonly stored = new BoundedMap<string, StoredQuestions>(maxChatbotsKept);
  private readonly reads = new SingleFlight<StoredQuestions>();

  constructor(
    private readonly redis: RedisGuard,
    private readonly metrics: Metrics,
    private readonly ttlSeconds: number,
    private readonly maxAgeMs = storedQuestionsMaxAgeMs,
  ) {
    redis.client.defineCommand("semanticCacheStore", { lua: storeScript });
  }

  private keys(chatbotId: string, version: string) {
    const base = `cache:ai-semantic:${chatbotId}:${version}`;
    return { questions: `${base}:q`, answers: `${base}:a` };
  }

  /** The best stored answer scoring at least `threshold`, if any. Redis failures count as errors. */
  async lookup(
    chatbotId: string,
    version: string,
    question: string,
    threshold: number,
  ): Promise<SemanticHit | undefined> {
    const keys = this.keys(chatbotId, version);
    try {
      const stored = await this.storedQuestions(keys.questions);
      const asked = analyse(question);
      let best: { signature: string; question: string; score: number } | undefined;
      for (const candidate of stored.groups.get(groupOf(asked)) ?? []) {
        const score = similarity(asked, candidate.analysis);
        if (score >= threshold && (!best || score > best.score))
          best = { signature: candidate.signature, question: candidate.question, score };
      }
      const raw = best && (await this.redis.run((client) => client.hget(keys.answers, best.signature)));
      if (!best || !raw) {
        this.count("miss");
        return undefined;
      }
      this.count("hit");
      return { answer: JSON.parse(raw) as CachedAnswer, question: best.question, score: best.score };
    } catch {
      this.count("error");
      return undefined;
    }
  }

  /** Stores an answer under its question (fire and forget: a failed write only costs a future hit). */
  store(chatbotId: string, version: string, question: string, answer: CachedAnswer): void {
    const keys = this.keys(chatbotId, version);
    const signature = questionSignature(question);
    if (!signature) return;
    const known = this.stored.get(keys.questions);
    // A new question to a full chatbot is not sent: the script would refuse it, and a chatbot's hash only
    // empties by expiring whole. The copy is at most maxAgeMs old (a look-up came first), so after an
    // expiry this process stores nothing for that long, which costs at most a future hit.
    if (known && known.signatures.size >= maxStoredQuestions && !known.signatures.has(signature)) return;
    // Counted at once, as the script will: a look-up that picks it reads its answer after this command
    // on the same connection (a question already known is not added twice).
    if (known) add(known, signature, question);
    this.redis
      .run((client) =>
        (client as unknown as { semanticCacheStore: StoreCommand }).semanticCacheStore(
          2,
          keys.questions,
          keys.answers,
          signature,
          question,
          JSON.stringify(answer),
          this.ttlSeconds,
          maxStoredQuestions,
        ),
      )
      .catch(() => undefined);
  }

  /** The chatbot's stored questions, read again once the copy is older than `maxAgeMs`. */
  private async storedQuestions(key: string): Promise<StoredQuestions> {
    const known = this.stored.get(key);
    if (known && Date.now() - known.readAt < this.maxAgeMs) return known;
    return this.reads.run(key, async () => {
      const readAt = Date.now();
      const questions = await this.redis.run((client) => client.hgetall(key));
      const fresh: StoredQuestions = { readAt, signatures: new Set(), groups: new Map() };
      for (const [signature, question] of Object.entries(questions)) add(fresh, signature, question);
      this.stored.delete(key); // re-inserted as the newest, so it is the last to be dropped
      this.stored.set(key, fresh);
      return fresh;
    });
  }

  private count(result: "hit" | "miss" | "error") {
    this.metrics.cacheRequests.inc({ cache: semanticCacheName, result });
  }
}
