/**
 * The chatbot each conversation talks to, remembered per process. Conversations are never moved to
 * another chatbot or organization, nor deleted by the app, so a found answer stays true; a miss is
 * never remembered (the conversation may be created a moment later, on any pod). The conversations
 * this process creates are remembered as they are created, so their first message here needs no
 * look-up: at 1,000 new streams a second that statement was a third of each message's round trips to
 * PostgreSQL (docs/performance.md, "Fifth round").
 */
import { BoundedMap } from "../cache/bounded-map";
import type { ConversationStore } from "../data/conversations";

/** Conversations a process remembers (oldest dropped first; ~100 bytes each). */
const maxKnownConversations = 50_000;

const keyOf = (organizationId: string, conversationId: string) => `${organizationId}/${conversationId}`;

export class ConversationChatbots {
  /** Conversation (organization/id) → its chatbot. */
  private readonly known = new BoundedMap<string, string>(maxKnownConversations);

  constructor(private readonly store: ConversationStore) {}

  /** A conversation this process has just created. */
  remember(organizationId: string, conversationId: string, chatbotId: string): void {
    this.known.set(keyOf(organizationId, conversationId), chatbotId);
  }

  /**
   * The chatbot of the organization's conversation; null when it has no such conversation. Read from
   * the primary when not remembered: a conversation created a moment ago may not be on a replica yet.
   */
  async chatbotOf(organizationId: string, conversationId: string): Promise<string | null> {
    const key = keyOf(organizationId, conversationId);
    const known = this.known.get(key);
    if (known) return known;
    const conversation = await this.store.get(organizationId, conversationId);
    if (!conversation) return null;
    this.known.set(key, conversation.chatbot_id);
    return conversation.chatbot_id;
  }
}
