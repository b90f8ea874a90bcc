/** Structured JSON logs (pino). Secrets are redacted even if a caller logs an object holding one. */
import { register as onExit } from "on-exit-leak-free";
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

/**
 * A destination that hands the lines of one event-loop turn to `target` in one write, at the end of
 * that turn: under load a turn serves many requests, whose lines pino's asynchronous destination
 * wrote from the thread pool, a hand-off there and back per write, with a write possibly in flight
 * when the process exits. Readers still see each line within the turn that logged it. What is
 * pending when the process exits (process.exit and uncaught errors included) is handed over then,
 * as pino does for its own buffered destinations (on-exit-leak-free: no listener kept per logger);
 * `target` must write synchronously for it to be out before the process is.
 */
export class TurnBufferedDestination implements DestinationStream {
  private pending: string[] = [];
  private readonly endOfTurn = () => this.flush();

  constructor(private readonly target: DestinationStream) {
    onExit(this, (destination) => destination.flush());
  }

  write(line: string): void {
    if (this.pending.push(line) === 1) setImmediate(this.endOfTurn);
  }

  /** Hands what is pending to the target now (pino's `logger.flush`). */
  flush(callback?: (error?: Error) => void): void {
    if (this.pending.length > 0) {
      const chunk = this.pending.join("");
      this.pending = [];
      this.target.write(chunk);
    }
    callback?.();
  }
}

/**
 * Where the app's lines go: a file descriptor (stdout) or a file, appended to, written once per turn
 * and synchronously, so no write is still in flight when the process exits.
 */
export function lineDestination(dest: number | string): TurnBufferedDestination {
  return new TurnBufferedDestination(
    pino.destination({ dest, sync: true, mkdir: typeof dest === "string", append: true }),
  );
}

export function createLogger(
  config: Pick<AppConfig, "logLevel" | "appVersion">,
  destination: DestinationStream = lineDestination(1),
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
