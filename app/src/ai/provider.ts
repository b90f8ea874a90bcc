/** The AI provider interface: produce the assistant's reply, optionally token by token. */
export interface KnowledgeEntry {
  question: string;
  answer: string;
}

export interface ChatTurn {
  role: "user" | "assistant";
  content: string;
}

export interface CompletionRequest {
  systemPrompt: string;
  knowledge: KnowledgeEntry[];
  /** Earlier turns, oldest first (providers that use context). */
  history: ChatTurn[];
  userMessage: string;
  /** The model to answer with, for providers that offer a choice (`routable`); else their own. */
  model?: string;
  /** Upper bound of completion tokens the provider may produce (unset: the provider's default). */
  maxCompletionTokens?: number;
}

export interface Completion {
  text: string;
  promptTokens: number;
  completionTokens: number;
}

export interface GenerateOptions {
  signal: AbortSignal;
  /** When given, the provider streams and calls this with each piece of text as it arrives. */
  onToken?: (text: string) => void;
}

export interface AiProvider {
  readonly name: string;
  /** The model used when a request names none. */
  readonly model: string;
  /** Whether a request may name its model (model routing applies). */
  readonly routable: boolean;
  /** Whether `history` is used (skip loading it otherwise). */
  readonly usesHistory: boolean;
  generate(request: CompletionRequest, options: GenerateOptions): Promise<Completion>;
}

/** Thrown for failures worth retrying (network, 429, 5xx); others are final. */
export class RetryableProviderError extends Error {
  override name = "RetryableProviderError";
}

/** A rough token count (about 4 characters per token) for providers that do not report usage. */
export const estimateTokens = (text: string) => (text.length === 0 ? 0 : Math.ceil(text.length / 4));

/** Splits finished text into word-sized pieces, for providers (and cached replies) that stream it. */
export const streamPieces = (text: string): string[] => text.match(/\S+\s*/g) ?? [text];

/** An upper-bound guess of a request's prompt tokens: everything a provider may send, estimated. */
export const estimateRequestTokens = (request: CompletionRequest) =>
  estimateTokens(
    [
      request.systemPrompt,
      ...request.knowledge.map((entry) => `Q: ${entry.question}\nA: ${entry.answer}`),
      ...request.history.map((turn) => turn.content),
      request.userMessage,
    ].join("\n"),
  );
