import type { Request, Response } from "express";
import { describe, expect, it } from "vitest";
import {
  AssistantFailedError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  NotFoundError,
} from "../domain/errors";
import { errorHandler } from "./errors";

/**
 * What the error handler sends for `error`: status, Retry-After and body, plus what it logged and
 * whether it marked the answer an expected failure (the request line then logs at info).
 */
function handled(error: unknown) {
  const sent: {
    status?: number;
    headers: Record<string, string>;
    body?: unknown;
    logged: unknown[];
    locals: { expectedFailure?: boolean };
  } = { headers: {}, logged: [], locals: {} };
  const response = {
    headersSent: false,
    locals: sent.locals,
    setHeader(name: string, value: string) {
      sent.headers[name] = value;
      return this;
    },
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  } as unknown as Response;
  errorHandler((unexpected) => sent.logged.push(unexpected))(error, {} as Request, response, () => {});
  return sent;
}

describe("domain errors map to HTTP in one place", () => {
  it("a missing resource is a 404 naming it", () => {
    const sent = handled(new NotFoundError("chatbot"));
    expect(sent.status).toBe(404);
    expect(sent.body).toEqual({ error: { code: "not_found", message: "chatbot not found" } });
  });

  it("a key still in progress is a 409 with Retry-After: 1", () => {
    const sent = handled(new IdempotencyKeyInProgressError("busy"));
    expect(sent.status).toBe(409);
    expect(sent.headers["Retry-After"]).toBe("1");
    expect(sent.body).toEqual({ error: { code: "idempotency_key_in_progress", message: "busy" } });
  });

  it("a reused key is a 422", () => {
    const sent = handled(new IdempotencyKeyReusedError("used"));
    expect(sent.status).toBe(422);
    expect(sent.body).toEqual({ error: { code: "idempotency_key_reused", message: "used" } });
  });

  it.each([
    ["unavailable", 503, "ai_unavailable"],
    ["timeout", 504, "ai_timeout"],
    ["failed", 502, "ai_failed"],
  ] as const)("an assistant that is %s is a %i %s, logged with its cause", (reason, status, code) => {
    const cause = new Error("provider said no");
    const sent = handled(new AssistantFailedError(reason, "no answer", { cause }));
    expect(sent.status).toBe(status);
    expect(sent.body).toEqual({ error: { code, message: "no answer" } });
    expect(sent.headers).toEqual({});
    expect(sent.logged).toEqual([cause]);
    expect(sent.locals.expectedFailure).toBeUndefined();
  });

  it("an assistant unavailable until its circuit half-opens is a 503 with Retry-After, not unexpected", () => {
    const sent = handled(new AssistantFailedError("unavailable", "no answer", { retryAfterSeconds: 7 }));
    expect(sent.status).toBe(503);
    expect(sent.headers["Retry-After"]).toBe("7");
    expect(sent.body).toEqual({ error: { code: "ai_unavailable", message: "no answer" } });
    expect(sent.logged).toEqual([]);
    expect(sent.locals.expectedFailure).toBe(true);
  });

  it("anything else is a 500 that says only 'internal error'", () => {
    const sent = handled(new Error("secret detail"));
    expect(sent.status).toBe(500);
    expect(sent.body).toEqual({ error: { code: "internal", message: "internal error" } });
    expect(sent.locals.expectedFailure).toBeUndefined();
  });
});
