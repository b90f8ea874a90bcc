/**
 * The semantic response cache: a question close enough to one already answered by the same chatbot,
 * under the same knowledge version, is answered from Redis without calling the provider.
 *
 * Per (chatbot, knowledge version) two Redis hashes share one signature per stored question: one maps
 * it to the question (small: the look-up reads them all and scores them in process), the other to the
 * answer (read only on a hit). The knowledge version is a hash of everything that shapes an answer
 * (system prompt, knowledge, models), so changing the prompt or the knowledge starts an empty cache
 * and the old one expires with its TTL. Look-ups count as `parley_cache_requests_total{cache="ai_semantic"}`.
 */
import { createHash } from "node:crypto";
import { BoundedMap } from "../cache/bounded-map";
import type { RedisGuard } from "../cache/redis";
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

/** Stored questions whose analysis a process keeps (oldest dropped first): a few chatbots' worth. */
const maxAnalyses = 5_000;

export class SemanticCache {
  private readonly analyses = new BoundedMap<string, Question>(maxAnalyses);

  constructor(
    private readonly redis: RedisGuard,
    private readonly metrics: Metrics,
    private readonly ttlSeconds: number,
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
      const stored = await this.redis.run((client) => client.hgetall(keys.questions));
      const asked = analyse(question);
      let best: { signature: string; question: string; score: number } | undefined;
      for (const [signature, storedQuestion] of Object.entries(stored)) {
        const score = similarity(asked, this.analysed(storedQuestion));
        if (score >= threshold && (!best || score > best.score))
          best = { signature, question: storedQuestion, score };
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

  /**
   * A stored question's analysis, kept: every look-up scores the chatbot's stored questions (up to
   * `maxStoredQuestions`), which change rarely, so each is analysed once per process, not per message.
   */
  private analysed(question: string): Question {
    let analysis = this.analyses.get(question);
    if (!analysis) {
      analysis = analyse(question);
      this.analyses.set(question, analysis);
    }
    return analysis;
  }

  private count(result: "hit" | "miss" | "error") {
    this.metrics.cacheRequests.inc({ cache: semanticCacheName, result });
  }
}
