/** Request schemas (zod): a failure becomes a 400 naming the field. */
import { z } from "zod";
import { chatbotAiSettings } from "../ai/chatbot-settings";

export const registerBody = z.object({
  email: z.email().max(254),
  password: z.string().min(8).max(200),
  name: z.string().trim().min(1).max(100).optional(),
  organization: z.string().trim().min(1).max(100).optional(),
});

export const loginBody = z.object({
  email: z.string().min(1).max(254),
  password: z.string().min(1).max(200),
});

export const knowledgeEntry = z.object({
  question: z.string().trim().min(1).max(500),
  answer: z.string().trim().min(1).max(4000),
});

export const createChatbotBody = z.object({
  name: z.string().trim().min(1).max(100),
  system_prompt: z.string().max(4000).optional(),
  knowledge: z.array(knowledgeEntry).max(200).optional(),
  ai: chatbotAiSettings.optional(),
});

export const createConversationBody = z
  .object({ title: z.string().trim().min(1).max(200).nullish() })
  // A POST without a body is fine here: every field is optional.
  .default({});

export const postMessageBody = z.object({
  content: z.string().trim().min(1).max(4000),
});

export const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "1 to 200 visible ASCII characters")
  .optional();

export const pageQuery = z.object({
  cursor: z.string().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const analyticsQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30),
});
