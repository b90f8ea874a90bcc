/** Redis key names shared by the services: cache entries and "recently written" pins. */
export const keys = {
  chatbot: (org: string, id: string) => `cache:chatbot:${org}:${id}`,
  /** An organization's chatbot list: its first page per limit, as hash fields. */
  chatbots: (org: string) => `cache:chatbots:${org}`,
  messages: (org: string, conversation: string) => `cache:messages:${org}:${conversation}`,
  analytics: (org: string, days: number) => `cache:analytics:${org}:${days}`,
  aiResponse: (chatbot: string, promptHash: string) => `cache:ai:${chatbot}:${promptHash}`,
  /**
   * Chatbots of an organization were written recently. Apart from its conversations' pin: creating a
   * conversation changes no chatbot, and an organization whose users start conversations every few
   * seconds would otherwise read its chatbots from the primary, past the cache, all the time.
   */
  chatbotsPin: (org: string) => `pin:chatbots:${org}`,
  /** Conversations of an organization were created recently. */
  conversationsPin: (org: string) => `pin:conversations:${org}`,
  /** Messages of a conversation were written recently. */
  conversationPin: (conversation: string) => `pin:conversation:${conversation}`,
};
