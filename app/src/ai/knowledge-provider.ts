/**
 * The built-in provider: answers from the chatbot's knowledge (best match by text similarity), with
 * no network. An optional simulated latency makes load tests behave like a real model.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  type AiProvider,
  type Completion,
  type CompletionRequest,
  estimateTokens,
  type GenerateOptions,
  streamPieces,
} from "./provider";
import { bestMatch } from "./similarity";

export const noAnswer =
  "I don't have an answer to that yet. Try rephrasing, or ask about something in this chatbot's knowledge base.";

export class KnowledgeProvider implements AiProvider {
  readonly name = "knowledge";
  readonly model = "knowledge-v1";
  readonly usesHistory = false;
  /** One built-in "model": routing has nothing to choose from. */
  readonly routable = false;

  constructor(private readonly simulatedLatencyMs = 0) {}

  async generate(request: CompletionRequest, { signal, onToken }: GenerateOptions): Promise<Completion> {
    const text = bestMatch(request.userMessage, request.knowledge)?.entry.answer ?? noAnswer;
    if (this.simulatedLatencyMs > 0) await sleep(this.simulatedLatencyMs, undefined, { signal });
    if (onToken) for (const piece of streamPieces(text)) onToken(piece);
    return {
      text,
      promptTokens: estimateTokens(request.systemPrompt + request.userMessage),
      completionTokens: estimateTokens(text),
    };
  }
}
