/**
 * The app's configuration: environment variables (names and schema in contracts/environment.ts)
 * validated with zod, plus tuning knobs with defaults that tests and the local platform may override
 * in code.
 */

import type { AiProviderName, LogLevel } from "../../contracts/enums";
import { environmentSchema, secretVariables } from "../../contracts/environment";

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

export interface AppConfig {
  /** 0 picks any free port. */
  port: number;
  /**
   * Where /metrics is served instead of the API port, so only Prometheus reaches it (the cluster's
   * NetworkPolicy admits only its namespace there); unset: on the API port (the local platform).
   */
  metricsPort?: number;
  databaseUrl: string;
  /** Read replicas (DATABASE_REPLICA_URLS, plus DATABASE_REPLICA_URL); none: reads go to the primary. */
  databaseReplicaUrls: string[];
  /**
   * Express `trust proxy` values (TRUSTED_PROXY_CIDRS): only a peer in these ranges may name the
   * client in X-Forwarded-For / CF-Connecting-IP.
   */
  trustedProxies: string[];
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
  /**
   * Client connection timeouts of the HTTP server. `keepAliveMs` closes an idle keep-alive connection
   * and must exceed the load balancer's idle timeout (else the balancer may reuse a connection the
   * app is closing: a 502); `headersMs` cuts a client still sending its headers (slowloris),
   * `requestMs` one still sending its request (headers and body). Neither limits a response: a
   * streamed reply may last longer. Checked every `checkIntervalMs`.
   */
  http: { keepAliveMs: number; headersMs: number; requestMs: number; checkIntervalMs: number };
  ai: {
    provider: AiProviderName;
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
    register: { limit: number; windowSeconds: number };
  };
  /**
   * Failed logins per account (whatever the client's address): after `freeFailures` in a row, each
   * further attempt waits `baseDelaySeconds` doubled per failure, up to `maxDelaySeconds`; the count
   * resets on success or `windowSeconds` after the last failure.
   */
  loginBackoff: {
    freeFailures: number;
    baseDelaySeconds: number;
    maxDelaySeconds: number;
    windowSeconds: number;
  };
  /**
   * A duplicate of a request still being answered (same Idempotency-Key) polls every `pollMs` for the
   * first one's exchange, up to `waitMs` (then 409); a claim older than `claimStaleMs` whose request
   * never finished (its pod died) is taken over.
   */
  idempotency: { waitMs: number; pollMs: number; claimStaleMs: number };
  /** Client-side database timeouts: a frozen server fails a request within their sum. */
  db: { connectTimeoutMs: number; queryTimeoutMs: number };
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
    metricsPort: e.METRICS_PORT,
    databaseUrl: e.DATABASE_URL,
    databaseReplicaUrls: [
      ...new Set([
        ...(e.DATABASE_REPLICA_URL ? [e.DATABASE_REPLICA_URL] : []),
        ...(e.DATABASE_REPLICA_URLS ?? []),
      ]),
    ],
    trustedProxies: e.TRUSTED_PROXY_CIDRS,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    dbPoolMax: e.DB_POOL_MAX,
    dbReplicaPoolMax: e.DB_REPLICA_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDrainMs: Math.min(5_000, Math.floor(e.SHUTDOWN_GRACE_MS / 5)),
    http: {
      keepAliveMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      headersMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: e.HTTP_REQUEST_TIMEOUT_MS,
      // Node's default (30 s) would let a cut connection live up to 30 s past its timeout.
      checkIntervalMs: Math.min(1_000, Math.floor(e.HTTP_HEADERS_TIMEOUT_MS / 4)),
    },
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
      ip: { limit: e.RATE_LIMIT_IP_PER_MINUTE, windowSeconds: 60 },
      user: { limit: e.RATE_LIMIT_USER_PER_MINUTE, windowSeconds: 60 },
      login: { limit: e.RATE_LIMIT_LOGIN_PER_MINUTE, windowSeconds: 60 },
      register: { limit: e.RATE_LIMIT_REGISTER_PER_HOUR, windowSeconds: 3600 },
    },
    loginBackoff: { freeFailures: 5, baseDelaySeconds: 1, maxDelaySeconds: 900, windowSeconds: 3600 },
    db: { connectTimeoutMs: 1_000, queryTimeoutMs: 1_000 },
    idempotency: { waitMs: 10_000, pollMs: 50, claimStaleMs: 30_000 * 3 + 10_000 },
    analyticsRefreshIntervalMs: 60_000,
    activeConversationsIntervalMs: 15_000,
    bodyLimitBytes: 64 * 1024,
  };
}
