/** Structured JSON logs (pino). Secrets are redacted even if a caller logs an object holding one. */
import { type DestinationStream, type Logger, pino } from "pino";
import type { AppConfig } from "./config";

export const redactedPaths = [
  "password",
  "*.password",
  "access_token",
  "*.access_token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "jwtSecret",
  "*.jwtSecret",
  "apiKey",
  "*.apiKey",
];

/** Errors as type, message, code and stack: pg attaches its whole client to errors, never log that. */
export function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const { code } = error as { code?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
  };
}

/**
 * pino's ISO timestamp, formatted once per millisecond: under load many lines share a millisecond,
 * and `toISOString` per line was a measurable share of the request path.
 */
export function isoTimeOncePerMs(now: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let last = "";
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return last;
  };
}

export function createLogger(
  config: Pick<AppConfig, "logLevel" | "appVersion">,
  destination: DestinationStream = pino.destination(1),
): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: "parley", version: config.appVersion },
      redact: { paths: redactedPaths, censor: "[redacted]" },
      timestamp: isoTimeOncePerMs(),
      serializers: { err: serializeError },
    },
    destination,
  );
}
