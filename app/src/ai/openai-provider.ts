/**
 * An OpenAI-compatible provider (POST {baseUrl}/chat/completions), streaming with server-sent
 * events when a token callback is given. Usage comes from the API (stream_options.include_usage),
 * or is estimated when the server does not report it.
 */
import {
  type AiProvider,
  type ChatTurn,
  type Completion,
  type CompletionRequest,
  estimateTokens,
  type GenerateOptions,
  RetryableProviderError,
} from "./provider";

export interface OpenAiOptions {
  baseUrl: string;
  apiKey: string;
  model: string;
}

interface ChatChunk {
  choices?: Array<{ delta?: { content?: string | null }; message?: { content?: string | null } }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

function promptMessages(request: CompletionRequest): Array<{ role: string; content: string }> {
  const knowledge = request.knowledge.map((entry) => `Q: ${entry.question}\nA: ${entry.answer}`).join("\n\n");
  const system = [
    request.systemPrompt,
    knowledge && `Answer using this knowledge where it applies:\n${knowledge}`,
  ]
    .filter(Boolean)
    .join("\n\n");
  const turns: ChatTurn[] = [...request.history, { role: "user", content: request.userMessage }];
  return [...(system ? [{ role: "system", content: system }] : []), ...turns];
}

/** Yields the `data:` payloads of a server-sent event stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary = buffer.indexOf("\n");
    while (boundary >= 0) {
      const line = buffer.slice(0, boundary).replace(/\r$/, "");
      buffer = buffer.slice(boundary + 1);
      if (line.startsWith("data:")) yield line.slice(5).trimStart();
      boundary = buffer.indexOf("\n");
    }
  }
}

export class OpenAiProvider implements AiProvider {
  readonly name = "openai";
  readonly usesHistory = true;
  readonly routable = true;
  readonly model: string;

  constructor(private readonly options: OpenAiOptions) {
    this.model = options.model;
  }

  async generate(request: CompletionRequest, { signal, onToken }: GenerateOptions): Promise<Completion> {
    const messages = promptMessages(request);
    const stream = onToken !== undefined;
    let response: Response;
    try {
      response = await fetch(`${this.options.baseUrl.replace(/\/$/, "")}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.options.apiKey}` },
        body: JSON.stringify({
          model: request.model ?? this.model,
          messages,
          // The chat-completions bound on output tokens; `max_tokens` is its deprecated predecessor
          // (platform.openai.com/docs/api-reference/chat/create).
          ...(request.maxCompletionTokens ? { max_completion_tokens: request.maxCompletionTokens } : {}),
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
        }),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new RetryableProviderError(`cannot reach the AI provider: ${(error as Error).message}`);
    }
    if (!response.ok || !response.body) {
      const detail = (await response.text().catch(() => "")).slice(0, 200);
      const message = `AI provider answered ${response.status}: ${detail}`;
      throw response.status === 429 || response.status >= 500
        ? new RetryableProviderError(message)
        : new Error(message);
    }
    const promptEstimate = estimateTokens(messages.map((message) => message.content).join("\n"));
    if (!stream) {
      const body = (await response.json()) as ChatChunk;
      const text = body.choices?.[0]?.message?.content ?? "";
      return {
        text,
        promptTokens: body.usage?.prompt_tokens ?? promptEstimate,
        completionTokens: body.usage?.completion_tokens ?? estimateTokens(text),
      };
    }
    let text = "";
    let usage: ChatChunk["usage"];
    for await (const data of sseData(response.body)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data) as ChatChunk;
      const piece = chunk.choices?.[0]?.delta?.content;
      if (piece) {
        text += piece;
        onToken(piece);
      }
      if (chunk.usage) usage = chunk.usage;
    }
    return {
      text,
      promptTokens: usage?.prompt_tokens ?? promptEstimate,
      completionTokens: usage?.completion_tokens ?? estimateTokens(text),
    };
  }
}
