/**
 * Conversations: created on the primary (pinning the organization's conversation reads, and remembering
 * each one's chatbot for its messages), listed newest first.
 */
import type { Cache } from "../cache/cache";
import type { Conversation, ConversationStore } from "../data/conversations";
import { type Cursor, pageOf } from "../domain/cursor";
import type { ConversationChatbots } from "./conversation-chatbots";
import { keys } from "./keys";

export class ConversationService {
  constructor(
    private readonly store: ConversationStore,
    private readonly cache: Cache,
    private readonly conversationChatbots: ConversationChatbots,
  ) {}

  async create(
    organizationId: string,
    chatbotId: string,
    userId: string,
    title: string | null,
  ): Promise<Conversation | null> {
    const conversation = await this.store.create(organizationId, chatbotId, userId, title);
    if (!conversation) return null;
    this.conversationChatbots.remember(organizationId, conversation.id, chatbotId);
    await this.cache.invalidate([], [keys.conversationsPin(organizationId)]);
    return conversation;
  }

  async list(organizationId: string, cursor: Cursor | undefined, limit: number) {
    const fromPrimary = await this.cache.pinned([keys.conversationsPin(organizationId)]);
    return pageOf(await this.store.list(organizationId, cursor, limit, fromPrimary), limit);
  }
}
