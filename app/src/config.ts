/**
 * The app's configuration: environment variables (fixed names, see DESIGN.md) validated with zod,
 * plus tuning knobs with defaults that tests and the local platform may override in code.
 */
import { z } from "zod";

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `an integer from ${min} to ${max}`)
        .max(max, `an integer from ${min} to ${max}`),
    );

const url = (protocols: string[]) => {
  const expected = `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`;
  return z.string({ error: expected }).refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, expected);
};

/** Variables whose values never appear in an error message. */
const secretVariables = new Set(["JWT_SECRET", "OPENAI_API_KEY"]);

/** How a bad value is shown in an error: secrets hidden, passwords in URLs masked. */
function shownValue(variable: string, value: string | undefined): string {
  if (value === undefined) return "unset";
  if (secretVariables.has(variable)) return "(hidden)";
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = "***";
    return JSON.stringify(parsed.toString());
  } catch {
    return JSON.stringify(value);
  }
}

/** The HTTP port when PORT is unset: the local platform's app URL and the container port in the cluster. */
export const defaultPort = 3000;

const environmentSchema = z
  .object({
    PORT: integer(0, 65535).default(defaultPort),
    DATABASE_URL: url(["postgres:", "postgresql:"]),
    DATABASE_REPLICA_URL: url(["postgres:", "postgresql:"]).optional(),
    REDIS_URL: url(["redis:", "rediss:"]),
    JWT_SECRET: z
      .string({ error: "a secret of at least 32 characters" })
      .min(32, "a secret of at least 32 characters"),
    DB_POOL_MAX: integer(1, 1000).default(10),
    DB_REPLICA_POOL_MAX: integer(1, 1000).default(10),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: "one of fatal, error, warn, info, debug, trace, silent",
      })
      .default("info"),
    SHUTDOWN_GRACE_MS: integer(0, 600_000).default(25_000),
    AI_PROVIDER: z.enum(["knowledge", "openai"], { error: "knowledge or openai" }).default("knowledge"),
    OPENAI_BASE_URL: url(["http:", "https:"]).default("https://api.openai.com/v1"),
    OPENAI_API_KEY: z.string().min(1, "a non-empty API key").optional(),
    OPENAI_MODEL: z.string().min(1, "a model name").default("gpt-4o-mini"),
    AI_SIMULATED_LATENCY_MS: integer(0, 60_000).default(0),
    APP_VERSION: z.string().min(1).default("dev"),
    APP_COMMIT: z.string().min(1).default("unknown"),
  })
  .superRefine((env, context) => {
    if (env.AI_PROVIDER === "openai" && !env.OPENAI_API_KEY)
      context.addIssue({
        code: "custom",
        path: ["OPENAI_API_KEY"],
        message: "a non-empty API key (required when AI_PROVIDER=openai)",
      });
  });

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface AppConfig {
  /** 0 picks any free port. */
  port: number;
  databaseUrl: string;
  /** Absent: reads go to the primary. */
  databaseReplicaUrl?: string;
  redisUrl: string;
  jwtSecret: string;
  dbPoolMax: number;
  dbReplicaPoolMax: number;
  logLevel: LogLevel;
  shutdownGraceMs: number;
  /**
   * After SIGTERM, how long the listener keeps accepting (readiness 503, `Connection: close`) so load
   * balancers stop routing here before connections are refused. Part of the grace period.
   */
  shutdownDrainMs: number;
  ai: {
    provider: "knowledge" | "openai";
    openai: { baseUrl: string; apiKey?: string; model: string };
    simulatedLatencyMs: number;
    timeoutMs: number;
    maxRetries: number;
    /** Cap on completion tokens per reply: bounds what one reply can spend beyond a token budget. */
    maxCompletionTokens: number;
  };
  appVersion: string;
  appCommit: string;
  /** Access-token lifetime. */
  tokenTtlSeconds: number;
  replica: {
    /** Past this lag the replica is skipped and reads go to the primary. */
    maxLagSeconds: number;
    checkIntervalMs: number;
  };
  /**
   * After a write, reads of the written resource go to the primary for this long: longer than the
   * largest lag a replica may have while still used (maxLagSeconds plus one check interval).
   */
  readYourWritesMs: number;
  cacheTtlSeconds: { messages: number; chatbot: number; analytics: number; aiResponse: number };
  /** Requests per window; windows in seconds. */
  rateLimits: {
    ip: { limit: number; windowSeconds: number };
    user: { limit: number; windowSeconds: number };
    login: { limit: number; windowSeconds: number };
  };
  analyticsRefreshIntervalMs: number;
  activeConversationsIntervalMs: number;
  /** Body size limit of JSON requests (413 above). */
  bodyLimitBytes: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  // Empty strings count as unset, as in most deployment tools.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0]);
      return `${variable}=${shownValue(variable, present[variable])}: expected ${issue.message}`;
    });
    throw new ConfigError(`Invalid environment: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databaseReplicaUrl: e.DATABASE_REPLICA_URL,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    dbPoolMax: e.DB_POOL_MAX,
    dbReplicaPoolMax: e.DB_REPLICA_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDrainMs: Math.min(5_000, Math.floor(e.SHUTDOWN_GRACE_MS / 5)),
    ai: {
      provider: e.AI_PROVIDER,
      openai: { baseUrl: e.OPENAI_BASE_URL, apiKey: e.OPENAI_API_KEY, model: e.OPENAI_MODEL },
      simulatedLatencyMs: e.AI_SIMULATED_LATENCY_MS,
      timeoutMs: 30_000,
      maxRetries: 2,
      maxCompletionTokens: 1024,
    },
    appVersion: e.APP_VERSION,
    appCommit: e.APP_COMMIT,
    tokenTtlSeconds: 3600,
    replica: { maxLagSeconds: 5, checkIntervalMs: 1000 },
    readYourWritesMs: 8000,
    cacheTtlSeconds: { messages: 60, chatbot: 300, analytics: 60, aiResponse: 3600 },
    rateLimits: {
      ip: { limit: 1200, windowSeconds: 60 },
      user: { limit: 600, windowSeconds: 60 },
      login: { limit: 10, windowSeconds: 60 },
    },
    analyticsRefreshIntervalMs: 60_000,
    activeConversationsIntervalMs: 15_000,
    bodyLimitBytes: 64 * 1024,
  };
}
