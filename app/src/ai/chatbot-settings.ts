/**
 * A chatbot's AI settings (`chatbots.ai`, the `ai` object of the chatbot API): its cheap and strong
 * model for routing, and its semantic cache threshold.
 */
import { z } from "zod";
import { pricedModels } from "./prices";
import { defaultSemanticThreshold } from "./semantic-cache";

const model = z.enum(pricedModels as [string, ...string[]], {
  error: `a model of the price table (app/src/ai/prices.ts): ${pricedModels.join(", ")}`,
});

export const chatbotAiSettings = z
  .object({
    cheap_model: model.optional(),
    strong_model: model.optional(),
    /** Similarity (0.5 to 1) a cached question needs to answer a new one; null turns the cache off. */
    semantic_cache_threshold: z
      .number()
      .min(0.5, "a number from 0.5 to 1, or null")
      .max(1, "a number from 0.5 to 1, or null")
      .nullable()
      .optional(),
  })
  .strict()
  .refine((ai) => (ai.cheap_model === undefined) === (ai.strong_model === undefined), {
    message: "cheap_model and strong_model are declared together",
    path: ["strong_model"],
  });

export type ChatbotAiSettings = z.infer<typeof chatbotAiSettings>;

/** The routing models, when the chatbot declares both. */
export function routingModels(
  ai: ChatbotAiSettings | undefined,
): { cheap: string; strong: string } | undefined {
  return ai?.cheap_model && ai.strong_model ? { cheap: ai.cheap_model, strong: ai.strong_model } : undefined;
}

/** The semantic cache threshold in effect; undefined when the chatbot turned the cache off. */
export function semanticThreshold(ai: ChatbotAiSettings | undefined): number | undefined {
  if (ai?.semantic_cache_threshold === null) return undefined;
  return ai?.semantic_cache_threshold ?? defaultSemanticThreshold;
}
