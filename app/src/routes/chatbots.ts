/** Chatbots and the conversations started with them. */
import type { Request, RequestHandler, Router } from "express";
import { decodeCursor, isUuid } from "../domain/cursor";
import { NotFoundError } from "../domain/errors";
import { parse } from "../http/errors";
import { sendJsonText } from "../http/json-text";
import { createChatbotBody, createConversationBody, pageQuery } from "../http/schemas";
import type { ChatbotService } from "../services/chatbots";
import type { ConversationService } from "../services/conversations";

/** A page request's cursor and limit (400 naming the field when invalid). */
export function pageRequest(request: Request) {
  const query = parse(pageQuery, request.query, "query");
  return { cursor: query.cursor === undefined ? undefined : decodeCursor(query.cursor), limit: query.limit };
}

/** The `:id` path parameter; anything but a UUID cannot exist, so it is a 404 like any other miss. */
export function idParam(request: Request, what: string): string {
  const id = String(request.params.id);
  if (!isUuid(id)) throw new NotFoundError(what);
  return id.toLowerCase();
}

export function chatbotRoutes(
  router: Router,
  guard: RequestHandler[],
  deps: {
    chatbots: ChatbotService;
    conversations: ConversationService;
    /** Parses a JSON body (express.json), after the guard. */
    jsonBody: RequestHandler;
  },
): void {
  const { chatbots, conversations, jsonBody } = deps;

  router.get("/chatbots", ...guard, async (request, response) => {
    const { cursor, limit } = pageRequest(request);
    sendJsonText(response, await chatbots.listJson(request.auth!.organizationId, cursor, limit));
  });

  router.post("/chatbots", ...guard, jsonBody, async (request, response) => {
    const body = parse(createChatbotBody, request.body, "body");
    response.status(201).json(await chatbots.create(request.auth!.organizationId, body));
  });

  router.get("/chatbots/:id", ...guard, async (request, response) => {
    const chatbot = await chatbots.getJson(request.auth!.organizationId, idParam(request, "chatbot"));
    if (chatbot === null) throw new NotFoundError("chatbot");
    sendJsonText(response, chatbot);
  });

  router.post("/chatbots/:id/conversations", ...guard, jsonBody, async (request, response) => {
    const chatbotId = idParam(request, "chatbot");
    const body = parse(createConversationBody, request.body, "body");
    const { organizationId, userId } = request.auth!;
    const conversation = await conversations.create(organizationId, chatbotId, userId, body.title ?? null);
    if (!conversation) throw new NotFoundError("chatbot");
    response.status(201).json(conversation);
  });
}
