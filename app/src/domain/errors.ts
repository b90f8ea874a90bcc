/**
 * Failures the services report, whatever the transport: app/src/http/errors.ts maps each one to its
 * status and `{"error": {"code", "message"}}` body, in one place.
 */

/** The resource does not exist, or is not the caller's to see. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
  constructor(readonly what: string) {
    super(`${what} not found`);
  }
}

/** Another request with the same Idempotency-Key is still being answered; retry in a second. */
export class IdempotencyKeyInProgressError extends Error {
  override name = "IdempotencyKeyInProgressError";
  readonly retryAfterSeconds = 1;
}

/** The Idempotency-Key was already used for a different request. */
export class IdempotencyKeyReusedError extends Error {
  override name = "IdempotencyKeyReusedError";
}

/** The AI provider could not answer: its circuit is open, it timed out, or it failed. */
export class AssistantFailedError extends Error {
  override name = "AssistantFailedError";
  /** "unavailable" only: seconds until the circuit lets a call through again. */
  readonly retryAfterSeconds?: number;
  constructor(
    readonly reason: "unavailable" | "timeout" | "failed",
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}
