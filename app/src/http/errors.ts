/**
 * API errors: `{"error": {"code", "message"}}` with a 4xx/5xx status. The one place domain errors
 * (app/src/domain/errors.ts), the cursor's and the data stores' become HTTP statuses.
 */
import type { ErrorRequestHandler, Request } from "express";
import type { z } from "zod";
import { BudgetExceededError } from "../ai/usage";
import { DatabaseUnavailableError } from "../db/database";
import { CursorError } from "../domain/cursor";
import {
  AssistantFailedError,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  NotFoundError,
} from "../domain/errors";

export class HttpError extends Error {
  override name = "HttpError";
  /** Sent as `Retry-After` (seconds) with the error. */
  readonly retryAfterSeconds?: number;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/**
 * PostgreSQL SQLSTATE class 22 ("data exception": a NUL byte 22021, an untranslatable character
 * 22P05, a date out of range 22008, malformed text for a type 22P02, ...) means the request carried
 * a value the database cannot hold: the client's fault, whichever validation let it through.
 */
const isDataException = (error: unknown) => /^22[0-9A-Z]{3}$/.test((error as { code?: string }).code ?? "");

/** "body.email: Invalid email address; query.limit: ..." — each problem names its field. */
export function describeZodError(error: z.ZodError, where: string): string {
  return error.issues
    .map((issue) => `${[where, ...issue.path.map(String)].join(".")}: ${issue.message}`)
    .join("; ");
}

/** Parses `value` with `schema`, or throws a 400 naming the fields. */
export function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: "body" | "query" | "header",
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, "validation_failed", describeZodError(result.error, where));
  return result.data;
}

/** Status and code of each way the assistant fails (app/src/domain/errors.ts). */
const assistantFailures = {
  unavailable: { status: 503, code: "ai_unavailable" },
  timeout: { status: 504, code: "ai_timeout" },
  failed: { status: 502, code: "ai_failed" },
} as const;

/** The HttpError an error maps to, or undefined for an unexpected one (a 500). */
function asHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof NotFoundError) return new HttpError(404, "not_found", error.message);
  if (error instanceof IdempotencyKeyInProgressError)
    return new HttpError(409, "idempotency_key_in_progress", error.message, {
      retryAfterSeconds: error.retryAfterSeconds,
    });
  if (error instanceof IdempotencyKeyReusedError)
    return new HttpError(422, "idempotency_key_reused", error.message);
  if (error instanceof AssistantFailedError) {
    const { status, code } = assistantFailures[error.reason];
    return new HttpError(status, code, error.message, {
      cause: error.cause,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  }
  if (error instanceof BudgetExceededError)
    return new HttpError(429, "ai_budget_exceeded", error.message, {
      retryAfterSeconds: error.retryAfterSeconds,
    });
  if (error instanceof CursorError)
    return new HttpError(400, "invalid_cursor", `query.cursor: ${error.message}`);
  if (error instanceof DatabaseUnavailableError)
    return new HttpError(503, "database_unavailable", "the database is unavailable; retry shortly", {
      cause: error,
      retryAfterSeconds: error.retryAfterSeconds,
    });
  if (isDataException(error))
    return new HttpError(400, "invalid_input", "the request holds a value that cannot be stored", {
      cause: error,
    });
  const { status, type } = error as { status?: number; type?: string };
  if (type === "entity.too.large")
    return new HttpError(413, "payload_too_large", "request body is too large");
  if (type === "entity.parse.failed")
    return new HttpError(400, "invalid_json", "request body is not valid JSON");
  if (typeof status === "number" && status >= 400 && status < 500)
    return new HttpError(status, "bad_request", (error as Error).message);
  return undefined;
}

/** The JSON error body for any error (unexpected ones say only "internal error"). */
export function errorBody(error: unknown): { error: { code: string; message: string } } {
  const known = asHttpError(error);
  return { error: { code: known?.code ?? "internal", message: known?.message ?? "internal error" } };
}

export function errorHandler(onUnexpected: (error: unknown, request: Request) => void): ErrorRequestHandler {
  return (error: unknown, request, response, next) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const known = asHttpError(error);
    if (!known || (known.status >= 500 && known.retryAfterSeconds === undefined))
      onUnexpected(known?.cause ?? error, request);
    if (known?.retryAfterSeconds !== undefined) {
      response.setHeader("Retry-After", String(known.retryAfterSeconds));
      // A 5xx that says when to retry reports a known state (the primary or the assistant is down,
      // seen where it is detected: a log line, the circuit-state metric), not a failure of this
      // request: its request line is info.
      response.locals.expectedFailure = true;
    }
    response.status(known?.status ?? 500).json(errorBody(error));
  };
}
