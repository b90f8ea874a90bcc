/** Chatbots: created on the primary, read through the cache (invalidated and pinned on write). */
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
    await this.cache.invalidate([], [keys.chatbotsPin(organizationId)]);
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

  async list(organizationId: string, cursor: Cursor | undefined, limit: number) {
    const fromPrimary = await this.cache.pinned([keys.chatbotsPin(organizationId)]);
    return pageOf(await this.store.list(organizationId, cursor, limit, fromPrimary), limit);
  }
}
