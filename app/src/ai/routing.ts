/**
 * Model routing: a chatbot that declares a cheap and a strong model gets one of them per message.
 * The rule, first match wins:
 *
 * 1. long message (more than `longMessageChars` characters) → strong: long questions carry detail
 *    a small model tends to drop;
 * 2. complex intent (asks to explain, compare, analyse, troubleshoot, write or plan; or asks more
 *    than one question) → strong;
 * 3. small talk (a greeting, thanks or goodbye of a few words) → cheap;
 * 4. knowledge match confidence (best similarity of the message to a knowledge question) at least
 *    `knowledgeConfidence` → cheap: the answer is in the prompt, the model only has to restate it;
 * 5. otherwise → strong: nothing in the knowledge helps, the model has to answer on its own.
 */
import type { KnowledgeEntry } from "./provider";
import { bestMatch } from "./similarity";

export type RouteTier = "cheap" | "strong";
export type RouteReason = "long" | "complex_intent" | "small_talk" | "knowledge_match" | "no_knowledge_match";

export interface ModelChoice {
  model: string;
  tier: RouteTier;
  reason: RouteReason;
}

export const routingRule = {
  longMessageChars: 280,
  knowledgeConfidence: 0.5,
} as const;

const complexIntent =
  /\b(why|explain|compare|comparison|difference|differences|analy[sz]e|analysis|troubleshoot|debug|step[- ]by[- ]step|write|draft|summari[sz]e|plan out|recommend|pros and cons|trade-?offs?|calculate|estimate)\b/i;
const smallTalk =
  /^\s*(hi|hello|hey|thanks|thank you|thx|bye|goodbye|good (morning|afternoon|evening)|ok(ay)?|cheers)\b/i;

/** Which of the chatbot's two models answers `message`, and why. */
export function chooseModel(
  message: string,
  knowledge: KnowledgeEntry[],
  models: { cheap: string; strong: string },
): ModelChoice {
  const pick = (tier: RouteTier, reason: RouteReason): ModelChoice => ({ model: models[tier], tier, reason });
  if (message.length > routingRule.longMessageChars) return pick("strong", "long");
  if (complexIntent.test(message) || (message.match(/\?/g)?.length ?? 0) > 1)
    return pick("strong", "complex_intent");
  if (smallTalk.test(message) && message.trim().split(/\s+/).length <= 6) return pick("cheap", "small_talk");
  if (bestMatch(message, knowledge, routingRule.knowledgeConfidence)) return pick("cheap", "knowledge_match");
  return pick("strong", "no_knowledge_match");
}
