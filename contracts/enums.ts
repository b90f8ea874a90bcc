/** Values shared by the app, the stack config and the infrastructure: each list is written once here. */

/** Where the chatbot's replies come from: the built-in knowledge matcher or an OpenAI-compatible API. */
export const aiProviders = ["knowledge", "openai"] as const;
export type AiProviderName = (typeof aiProviders)[number];

/** pino's levels (the app's LOG_LEVEL and the stack's parley:logLevel). */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];
