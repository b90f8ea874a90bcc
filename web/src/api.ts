/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The chat page's API client: bearer token, JSON errors as ApiError (with the Retry-After seconds),
 * network failures as ConnectionLost, and the SSE reply stream read from a POST.
 */

export interface Message {
  id: string;
  role: "user" | "assistant";
  content: string;
  created_at: string;
}
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
export interface Chatbot {
  id: string;
  name: string;
}
export interface Conversation {
  id: string;
  chatbot_id: string;
  title: string | null;
  created_at: string;
}
export interface Exchange {
  user_message: Message;
  assistant_message: Message;
}

/** An error answer of the API: `{"error": {"code", "message"}}` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From Retry-After (429, 503), when the server sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The request or the stream never reached the server, or the connection broke. */
export class ConnectionLost extends Error {}

const tokenKey = "parley-token";
let token = sessionStorage.getItem(tokenKey);

export const signedIn = () => token !== null;
export function setToken(value: string | null): void {
  token = value;
  if (value === null) sessionStorage.removeItem(tokenKey);
  else sessionStorage.setItem(tokenKey, value);
}

async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ConnectionLost("connection lost");
  }
  if (!response.ok) {
    const parsed = (await response.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string } }
      | undefined;
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new ApiError(
      response.status,
      parsed?.error?.code ?? "http_error",
      parsed?.error?.message ?? `HTTP ${response.status}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter) : undefined,
    );
  }
  return response;
}

const json = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
  (await (await request(method, path, body)).json()) as T;

export const api = {
  login: (email: string, password: string) =>
    json<{ access_token: string }>("POST", "/api/auth/login", { email, password }),
  register: (email: string, password: string) =>
    json<{ access_token: string }>("POST", "/api/auth/register", { email, password }),
  chatbots: () => json<Page<Chatbot>>("GET", "/api/chatbots?limit=100"),
  createChatbot: (body: {
    name: string;
    system_prompt?: string;
    knowledge: Array<{ question: string; answer: string }>;
  }) => json<Chatbot>("POST", "/api/chatbots", body),
  conversations: () => json<Page<Conversation>>("GET", "/api/conversations?limit=100"),
  createConversation: (chatbotId: string, title: string) =>
    json<Conversation>("POST", `/api/chatbots/${chatbotId}/conversations`, { title }),
  messages: (conversationId: string, limit: number, cursor?: string) =>
    json<Page<Message>>(
      "GET",
      `/api/conversations/${conversationId}/messages?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    ),
};

/**
 * Posts a message and reads the reply as server-sent events: `onToken` for each piece, the stored
 * exchange at the end. The same `idempotencyKey` on a retry returns the first result, never a second
 * copy. A replayed exchange may come as plain JSON.
 */
export async function streamReply(
  conversationId: string,
  content: string,
  idempotencyKey: string,
  onToken: (text: string) => void,
): Promise<Exchange> {
  const response = await request(
    "POST",
    `/api/conversations/${conversationId}/messages`,
    { content },
    { accept: "text/event-stream", "idempotency-key": idempotencyKey },
  );
  if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream"))
    return (await response.json()) as Exchange;
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk: ReadableStreamReadResult<string>;
    try {
      chunk = await reader.read();
    } catch {
      throw new ConnectionLost("connection lost while the reply streamed");
    }
    if (chunk.done) throw new ConnectionLost("the reply stream ended early");
    buffer += chunk.value;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
      if (event === "token") onToken(data.text);
      else if (event === "done") {
        await reader.cancel().catch(() => undefined);
        return data as Exchange;
      } else if (event === "error") throw new ApiError(502, data.error.code, data.error.message);
    }
  }
}
