/** Redis key names shared by the services: cache entries and "recently written" pins. */
export const keys = {
  chatbot: (org: string, id: string) => `cache:chatbot:${org}:${id}`,
  messages: (org: string, conversation: string) => `cache:messages:${org}:${conversation}`,
  analytics: (org: string, days: number) => `cache:analytics:${org}:${days}`,
  aiResponse: (chatbot: string, promptHash: string) => `cache:ai:${chatbot}:${promptHash}`,
  /** Chatbots and conversations of an organization were written recently. */
  organizationPin: (org: string) => `pin:org:${org}`,
  /** Messages of a conversation were written recently. */
  conversationPin: (conversation: string) => `pin:conversation:${conversation}`,
};
