/** Structured JSON logs (pino). Secrets are redacted even if a caller logs an object holding one. */
import { type Logger, pino } from "pino";
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

export function createLogger(config: Pick<AppConfig, "logLevel" | "appVersion">): Logger {
  return pino({
    level: config.logLevel,
    base: { service: "parley", version: config.appVersion },
    redact: { paths: redactedPaths, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
