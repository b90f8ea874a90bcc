/** Conversations and their messages, including the SSE stream of the assistant's reply. */
import type { Request, RequestHandler, Response, Router } from "express";
import { streamPieces } from "../ai/provider";
import type { Exchange } from "../data/messages";
import { NotFoundError } from "../domain/errors";
import { errorBody, parse } from "../http/errors";
import { sendJsonText } from "../http/json-text";
import { idempotencyKey, postMessageBody } from "../http/schemas";
import type { ChatService } from "../services/chat";
import type { ConversationService } from "../services/conversations";
import { idParam, pageRequest } from "./chatbots";

const wantsEventStream = (request: Request) => (request.get("accept") ?? "").includes("text/event-stream");

/**
 * A server-sent event stream opened lazily, so errors found before the first token (404, 400)
 * still answer with a status and a JSON body.
 */
class EventStream {
  private open = false;
  private corked = false;

  constructor(private readonly response: Response) {}

  get started() {
    return this.open;
  }

  send(event: string, data: unknown): void {
    // The client may have gone; the reply is still stored, there is just no one to tell.
    if (this.response.destroyed) return;
    // The events written in one turn (a cached reply's words, a burst from the model), and the headers
    // before the first, leave in one socket write instead of one each: same bytes, fewer system calls.
    if (!this.corked) {
      this.corked = true;
      this.response.cork();
      process.nextTick(() => {
        this.corked = false;
        this.response.uncork();
      });
    }
    if (!this.open) {
      this.open = true;
      this.response.status(200);
      this.response.setHeader("Content-Type", "text/event-stream; charset=utf-8");
      // Private like every API answer (no-store), and no proxy may compress or buffer it (no-transform).
      this.response.setHeader("Cache-Control", "no-store, no-transform");
      this.response.setHeader("X-Accel-Buffering", "no");
      this.response.flushHeaders();
    }
    this.response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.response.destroyed) this.response.end();
  }
}

export function conversationRoutes(
  router: Router,
  guard: RequestHandler[],
  deps: {
    conversations: ConversationService;
    chat: ChatService;
    /** Parses a JSON body (express.json), after the guard. */
    jsonBody: RequestHandler;
  },
): void {
  const { conversations, chat, jsonBody } = deps;

  router.get("/conversations", ...guard, async (request, response) => {
    const { cursor, limit } = pageRequest(request);
    response.json(await conversations.list(request.auth!.organizationId, cursor, limit));
  });

  router.get("/conversations/:id/messages", ...guard, async (request, response) => {
    const conversationId = idParam(request, "conversation");
    const { cursor, limit } = pageRequest(request);
    const page = await chat.pageJson(request.auth!.organizationId, conversationId, cursor, limit);
    if (page === null) throw new NotFoundError("conversation");
    sendJsonText(response, page);
  });

  router.post("/conversations/:id/messages", ...guard, jsonBody, async (request, response) => {
    const conversationId = idParam(request, "conversation");
    const key = parse(idempotencyKey, request.get("idempotency-key"), "header");
    const { content } = parse(postMessageBody, request.body, "body");
    const { organizationId, userId } = request.auth!;
    const post = { organizationId, userId, conversationId, content, idempotencyKey: key };
    const sendExchange = (exchange: Exchange, replayed: boolean) => {
      if (replayed) response.setHeader("Idempotent-Replayed", "true");
      response.status(201).json(exchange);
    };
    if (!wantsEventStream(request)) {
      const { exchange, replayed } = await chat.post(post);
      sendExchange(exchange, replayed);
      return;
    }
    const stream = new EventStream(response);
    try {
      const { exchange, replayed } = await chat.post({
        ...post,
        onToken: (text) => stream.send("token", { text }),
      });
      if (replayed) {
        // A replay streams like the first answer did, marked before the stream opens.
        response.setHeader("Idempotent-Replayed", "true");
        for (const text of streamPieces(exchange.assistant_message.content)) stream.send("token", { text });
      }
      stream.send("done", exchange);
      stream.end();
    } catch (error) {
      if (!stream.started) throw error;
      request.log.warn({ err: error }, "reply stream failed");
      stream.send("error", errorBody(error));
      stream.end();
    }
  });
}
