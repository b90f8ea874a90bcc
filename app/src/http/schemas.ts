/** Request schemas (zod): a failure becomes a 400 naming the field. */
import { z } from "zod";
import { chatbotAiSettings } from "../ai/chatbot-settings";

/** Half a surrogate pair: not a character, UTF-8 cannot encode it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A text field. PostgreSQL text and jsonb cannot hold U+0000 and a lone surrogate would not come back
 * as sent, so both are refused here, naming the field, rather than failing in the database.
 */
const text = () =>
  z
    .string()
    .refine(
      (value) => !value.includes("\u0000") && !loneSurrogate.test(value),
      "must not contain U+0000 or lone surrogates",
    );

export const registerBody = z.object({
  email: z.email().max(254),
  password: text().min(8).max(200),
  name: text().trim().min(1).max(100).optional(),
  organization: text().trim().min(1).max(100).optional(),
});

export const loginBody = z.object({
  email: text().min(1).max(254),
  password: text().min(1).max(200),
});

export const knowledgeEntry = z.object({
  question: text().trim().min(1).max(500),
  answer: text().trim().min(1).max(4000),
});

export const createChatbotBody = z.object({
  name: text().trim().min(1).max(100),
  system_prompt: text().max(4000).optional(),
  knowledge: z.array(knowledgeEntry).max(200).optional(),
  ai: chatbotAiSettings.optional(),
});

export const createConversationBody = z
  .object({ title: text().trim().min(1).max(200).nullish() })
  // A POST without a body is fine here: every field is optional.
  .default({});

export const postMessageBody = z.object({
  content: text().trim().min(1).max(4000),
});

export const idempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "1 to 200 visible ASCII characters")
  .optional();

export const pageQuery = z.object({
  cursor: text().min(1).max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

export const analyticsQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30),
});
