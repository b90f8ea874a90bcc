/** The provider named by the configuration, wrapped with timeout, retries and a circuit breaker. */
import type { AppConfig } from "../config";
import type { Metrics } from "../telemetry/metrics";
import { KnowledgeProvider } from "./knowledge-provider";
import { OpenAiProvider } from "./openai-provider";
import type { AiProvider } from "./provider";
import { ResilientProvider } from "./resilient-provider";

export function selectProvider(ai: AppConfig["ai"], metrics: Metrics): AiProvider {
  const inner =
    ai.provider === "openai"
      ? new OpenAiProvider({
          baseUrl: ai.openai.baseUrl,
          apiKey: ai.openai.apiKey ?? "",
          model: ai.openai.model,
        })
      : new KnowledgeProvider(ai.simulatedLatencyMs);
  return new ResilientProvider(inner, { timeoutMs: ai.timeoutMs, maxRetries: ai.maxRetries, metrics });
}
