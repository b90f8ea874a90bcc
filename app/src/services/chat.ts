/**
 * Messages: cached history pages, and posting a message — the assistant's reply (from the response
 * cache for an identical prompt, the semantic cache for a similar question, else from the provider
 * with the routed model, within the organization's token budget), stored with the user's message and
 * the reply's usage in one statement, idempotent per Idempotency-Key.
 */
import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { routingModels, semanticThreshold } from "../ai/chatbot-settings";
import {
  type AiProvider,
  type CompletionRequest,
  estimateRequestTokens,
  estimateTokens,
  streamPieces,
} from "../ai/provider";
import { AiTimeoutError } from "../ai/resilient-provider";
import { chooseModel } from "../ai/routing";
import {
  type CachedAnswer,
  chatbotKnowledgeVersion,
  type SemanticCache,
  standalone,
} from "../ai/semantic-cache";
import type { AiUsage, LedgerEntry, UsageRoute } from "../ai/usage";
import type { Cache } from "../cache/cache";
import { CircuitOpenError } from "../cache/circuit-breaker";
import type { AppConfig } from "../config";
import type { Chatbot } from "../data/chatbots";
import type { Exchange, IdempotencyRecord, MessageStore } from "../data/messages";
import { isConnectionError } from "../db/database";
import { type Cursor, pageOf } from "../domain/cursor";
import {
  AssistantFailedError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  NotFoundError,
} from "../domain/errors";
import type { ChatbotService } from "./chatbots";
import type { ConversationChatbots } from "./conversation-chatbots";
import { keys } from "./keys";

const keyInProgress = "a request with this Idempotency-Key is still being answered; retry shortly";

/** Turns of context sent to providers that use history. */
const historyTurns = 20;

export interface PostMessage {
  organizationId: string;
  userId: string;
  conversationId: string;
  content: string;
  idempotencyKey?: string;
  /** Streams the reply as it is produced. */
  onToken?: (text: string) => void;
}

/** A reply's text and its usage (written with the exchange). */
interface Reply {
  text: string;
  usage: LedgerEntry;
}

/** A provider failure as the API reports it. */
function providerFailure(error: unknown): AssistantFailedError {
  if (error instanceof CircuitOpenError)
    return new AssistantFailedError(
      "unavailable",
      "the assistant is unavailable right now; try again shortly",
      { retryAfterSeconds: error.retryAfterSeconds },
    );
  if (error instanceof AiTimeoutError)
    return new AssistantFailedError("timeout", error.message, { cause: error });
  return new AssistantFailedError("failed", "the assistant failed to answer; try again", { cause: error });
}

export class ChatService {
  constructor(
    private readonly deps: {
      messages: MessageStore;
      conversationChatbots: ConversationChatbots;
      chatbots: ChatbotService;
      provider: AiProvider;
      cache: Cache;
      ttl: AppConfig["cacheTtlSeconds"];
      semanticCache: SemanticCache;
      usage: AiUsage;
      maxCompletionTokens: number;
      idempotency: AppConfig["idempotency"];
    },
  ) {}

  /**
   * One page of history, newest first, as the JSON text of the API's answer (sent on as it is); null
   * when the conversation is not the organization's. Only the newest page (the one every client
   * opens) is cached: each deeper page has a cursor of its own, so caching them would store one copy of
   * the history per cursor (hundreds of pages of a long conversation) for pages that are rarely read
   * twice. Deeper pages read the database directly, from the primary while the conversation is pinned
   * (read-your-writes).
   */
  async pageJson(
    organizationId: string,
    conversationId: string,
    cursor: Cursor | undefined,
    limit: number,
  ): Promise<string | null> {
    const { cache, messages, ttl } = this.deps;
    // A conversation created a moment ago may not be on the replica yet either.
    const pins = [keys.conversationPin(conversationId), keys.conversationsPin(organizationId)];
    const load = async (fromPrimary: boolean) => {
      const rows = await messages.page(organizationId, conversationId, cursor, limit, fromPrimary);
      return rows && pageOf(rows, limit);
    };
    if (cursor) {
      const page = await load(await cache.pinned(pins));
      return page && JSON.stringify(page);
    }
    return cache.readJson({
      cache: "messages",
      key: keys.messages(organizationId, conversationId),
      field: `first:${limit}`,
      ttlSeconds: ttl.messages,
      pins,
      load,
      cacheable: (page) => page !== null,
    });
  }

  async post(request: PostMessage): Promise<{ exchange: Exchange; replayed: boolean }> {
    const { messages, chatbots, cache, usage } = this.deps;
    const { organizationId, userId, conversationId, idempotencyKey: key } = request;
    // What makes a retry the same request: the target and the body.
    const requestHash = createHash("sha256")
      .update(JSON.stringify([conversationId, request.content]))
      .digest("base64url");
    if (key) {
      const earlier = await messages.findIdempotent(userId, key);
      if (earlier?.response) return this.replay(earlier, conversationId, requestHash);
    }
    // Refused before any work whose result could not be stored (the look-up may not reach the primary).
    messages.assertWritable();
    const chatbotId = await this.deps.conversationChatbots.chatbotOf(organizationId, conversationId);
    if (!chatbotId) throw new NotFoundError("conversation");
    const chatbot = await chatbots.get(organizationId, chatbotId);
    if (!chatbot) throw new NotFoundError("chatbot");
    const claim = randomUUID();
    if (key) {
      const replayed = await this.claimOrWait({ userId, key, conversationId, requestHash, claim });
      if (replayed) return replayed;
    }
    let reply: Reply;
    try {
      reply = await this.reply(chatbot, request);
    } catch (error) {
      if (key) await messages.releaseIdempotencyKey(userId, key, claim).catch(() => undefined);
      throw error;
    }
    // The cached page is dropped and the conversation pinned while the exchange is written, not after
    // it: one round trip less on every message. A read meanwhile goes to the primary and stores nothing
    // (Cache), so it cannot put the old page back; the answer waits for both. A write so slow that the
    // pin might end before a replica has it pins again from its end (Cache.repinAfter).
    const pins = [keys.conversationPin(conversationId)];
    const pinnedAt = Date.now();
    const invalidated = cache.invalidate([keys.messages(organizationId, conversationId)], pins);
    const stored = messages
      .storeExchange({
        organizationId,
        conversationId,
        userId,
        userContent: request.content,
        assistantContent: reply.text,
        idempotency: key ? { key, claim } : undefined,
        ledger: reply.usage,
      })
      .catch(async (error: unknown) => {
        // The statement was rolled back (a connection failure leaves that unknown: nothing is
        // written twice): the reply was still produced, so its usage is recorded on its own.
        if (!isConnectionError(error)) await usage.record(reply.usage).catch(() => undefined);
        throw error;
      });
    const [exchange] = await Promise.all([stored, invalidated]);
    cache.repinAfter(pins, pinnedAt);
    usage.recorded(reply.usage);
    if (!exchange) {
      const winner = key ? await messages.findIdempotent(userId, key) : null;
      if (!winner?.response) throw new IdempotencyKeyInProgressError(keyInProgress);
      return this.replay(winner, conversationId, requestHash);
    }
    return { exchange, replayed: false };
  }

  /**
   * Claims the key for this request, or — when another request holds it — waits for that request's
   * exchange and replays it: concurrent duplicates, on any pod, ask the assistant once. Undefined
   * when this request holds the claim.
   */
  private async claimOrWait(input: {
    userId: string;
    key: string;
    conversationId: string;
    requestHash: string;
    claim: string;
  }): Promise<{ exchange: Exchange; replayed: boolean } | undefined> {
    const { messages, idempotency } = this.deps;
    const deadline = Date.now() + idempotency.waitMs;
    for (;;) {
      if (await messages.claimIdempotencyKey({ ...input, staleAfterMs: idempotency.claimStaleMs }))
        return undefined;
      const holder = await messages.findIdempotent(input.userId, input.key);
      if (holder) {
        // A different request under the same key is refused at once, finished or not.
        if (
          holder.response ||
          holder.request_hash !== input.requestHash ||
          holder.conversation_id !== input.conversationId
        )
          return this.replay(holder, input.conversationId, input.requestHash);
      }
      if (Date.now() >= deadline) throw new IdempotencyKeyInProgressError(keyInProgress);
      await sleep(idempotency.pollMs);
    }
  }

  /** The stored exchange of a key, if the retry is the same request (422 otherwise). */
  private replay(record: IdempotencyRecord, conversationId: string, requestHash: string) {
    if (record.conversation_id !== conversationId)
      throw new IdempotencyKeyReusedError("Idempotency-Key was already used for another conversation");
    if (record.request_hash !== null && record.request_hash !== requestHash)
      throw new IdempotencyKeyReusedError("Idempotency-Key was already used with a different body");
    if (!record.response) throw new IdempotencyKeyInProgressError(keyInProgress);
    return { exchange: record.response, replayed: true };
  }

  /**
   * The reply, and its usage to be written with the exchange: from the response cache for an identical
   * prompt to the same chatbot (same configuration), from the semantic cache for a similar standalone
   * question, else from the provider with the routed model, within the organization's monthly token
   * budget.
   */
  private async reply(chatbot: Chatbot, request: PostMessage): Promise<Reply> {
    const { provider, cache, messages, ttl, semanticCache, usage } = this.deps;
    const history = provider.usesHistory
      ? await messages.recentTurns(request.conversationId, historyTurns)
      : [];
    const models = provider.routable ? routingModels(chatbot.ai) : undefined;
    const choice = models && chooseModel(request.content, chatbot.knowledge, models);
    const model = choice?.model ?? provider.model;
    const route: UsageRoute = choice?.tier ?? "default";
    const promptHash = createHash("sha256")
      .update(
        JSON.stringify([
          provider.name,
          model,
          new Date(chatbot.updated_at).getTime(),
          history,
          request.content,
        ]),
      )
      .digest("base64url");
    const cacheKey = keys.aiResponse(chatbot.id, promptHash);
    const usageOf = (answer: CachedAnswer) => ({ provider: provider.name, route, ...answer });
    const cached = await cache.get("ai_response", cacheKey);
    if (cached !== undefined) {
      const answer = cachedAnswer(cached, model);
      return {
        text: this.fromCache(answer.text, request),
        usage: usage.cacheHit(request.organizationId, "exact_cache", usageOf(answer)),
      };
    }
    const version = chatbotKnowledgeVersion(chatbot);
    const threshold = semanticThreshold(chatbot.ai);
    const semantic = threshold !== undefined && standalone(request.content, history.length > 0);
    if (semantic) {
      const hit = await semanticCache.lookup(chatbot.id, version, request.content, threshold);
      if (hit)
        return {
          text: this.fromCache(hit.answer.text, request),
          usage: usage.cacheHit(request.organizationId, "semantic_cache", usageOf(hit.answer)),
        };
    }
    const completionRequest: CompletionRequest = {
      systemPrompt: chatbot.system_prompt,
      knowledge: chatbot.knowledge,
      history,
      userMessage: request.content,
      model: choice?.model,
      maxCompletionTokens: this.deps.maxCompletionTokens,
    };
    const reservation = await usage.reserve(
      request.organizationId,
      estimateRequestTokens(completionRequest) + this.deps.maxCompletionTokens,
    );
    const completion = await provider
      // The reply is finished and stored even if the client goes away, so a retry finds it.
      .generate(completionRequest, { signal: new AbortController().signal, onToken: request.onToken })
      .catch(async (error: unknown) => {
        await usage.release(reservation).catch(() => undefined);
        throw providerFailure(error);
      });
    const answer: CachedAnswer = {
      text: completion.text,
      model,
      promptTokens: completion.promptTokens,
      completionTokens: completion.completionTokens,
    };
    cache.set(cacheKey, JSON.stringify(answer), ttl.aiResponse);
    if (semantic) semanticCache.store(chatbot.id, version, request.content, answer);
    return { text: completion.text, usage: usage.providerReply(reservation, usageOf(answer)) };
  }

  /** A cached reply, streamed word by word when the client asked for a stream. */
  private fromCache(text: string, request: PostMessage): string {
    if (request.onToken) for (const piece of streamPieces(text)) request.onToken(piece);
    return text;
  }
}

/** A response cache entry; entries written before replies carried usage are their bare text. */
function cachedAnswer(raw: string, model: string): CachedAnswer {
  try {
    const parsed = JSON.parse(raw) as Partial<CachedAnswer>;
    if (typeof parsed?.text === "string")
      return { model, promptTokens: 0, completionTokens: 0, ...parsed } as CachedAnswer;
  } catch {
    // a bare text entry
  }
  return { text: raw, model, promptTokens: 0, completionTokens: estimateTokens(raw) };
}
