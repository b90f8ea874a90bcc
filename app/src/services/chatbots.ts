/**
 * Chatbots: created on the primary, read through the cache (invalidated and pinned on write): each
 * chatbot, and the first page of the list, which every client opens and which changes only when a
 * chatbot is created.
 */
import type { Cache, CachedRead } from "../cache/cache";
import type { AppConfig } from "../config";
import type { Chatbot, ChatbotStore } from "../data/chatbots";
import { type Cursor, pageOf } from "../domain/cursor";
import { keys } from "./keys";

export class ChatbotService {
  constructor(
    private readonly store: ChatbotStore,
    private readonly cache: Cache,
    private readonly ttl: AppConfig["cacheTtlSeconds"],
  ) {}

  async create(organizationId: string, input: Parameters<ChatbotStore["create"]>[1]): Promise<Chatbot> {
    const chatbot = await this.store.create(organizationId, input);
    await this.cache.invalidate([keys.chatbots(organizationId)], [keys.chatbotsPin(organizationId)]);
    return chatbot;
  }

  /** Null when missing or another organization's. */
  get(organizationId: string, id: string): Promise<Chatbot | null> {
    return this.cache.read(this.cachedRead(organizationId, id));
  }

  /** get() as the JSON text of the API's answer, for sending on as it is. */
  getJson(organizationId: string, id: string): Promise<string | null> {
    return this.cache.readJson(this.cachedRead(organizationId, id));
  }

  private cachedRead(organizationId: string, id: string): CachedRead<Chatbot | null> {
    return {
      cache: "chatbot",
      key: keys.chatbot(organizationId, id),
      ttlSeconds: this.ttl.chatbot,
      pins: [keys.chatbotsPin(organizationId)],
      load: (fromPrimary) => this.store.get(organizationId, id, fromPrimary),
      cacheable: (chatbot) => chatbot !== null,
    };
  }

  /**
   * One page of the list, newest first, as the JSON text of the API's answer (sent on as it is). Only
   * the first page is cached, as for messages: a deeper page has a cursor of its own.
   */
  async listJson(organizationId: string, cursor: Cursor | undefined, limit: number): Promise<string> {
    const pins = [keys.chatbotsPin(organizationId)];
    const load = async (fromPrimary: boolean) =>
      pageOf(await this.store.list(organizationId, cursor, limit, fromPrimary), limit);
    if (cursor) return JSON.stringify(await load(await this.cache.pinned(pins)));
    const page = await this.cache.readJson({
      cache: "chatbots",
      key: keys.chatbots(organizationId),
      field: `first:${limit}`,
      ttlSeconds: this.ttl.chatbot,
      pins,
      load,
    });
    return page!;
  }
}
