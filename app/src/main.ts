/**
 * The Parley service. `startParley` wires everything once (pools, Redis, providers, HTTP server) and
 * returns a handle whose `close()` shuts down gracefully: readiness turns 503 at once, in-flight
 * requests and streams finish (bounded by the grace period), then the server, pools and Redis close.
 * Run as a process (`node dist/app/main.js`), SIGTERM/SIGINT trigger that shutdown;
 * `node dist/app/main.js migrate` migrates DATABASE_URL instead.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { selectProvider } from "./ai/select-provider";
import { SemanticCache } from "./ai/semantic-cache";
import { AiUsage } from "./ai/usage";
import { Cache } from "./cache/cache";
import { RedisGuard } from "./cache/redis";
import { type AppConfig, ConfigError, loadConfig } from "./config";
import { AnalyticsStore } from "./data/analytics";
import { ChatbotStore } from "./data/chatbots";
import { ConversationStore } from "./data/conversations";
import { MessageStore } from "./data/messages";
import { UserStore } from "./data/users";
import { Database } from "./db/database";
import { Maintenance } from "./db/maintenance";
import { migrateCli } from "./db/migrate-cli";
import { createApp } from "./http/app";
import { answerClientError } from "./http/client-errors";
import { LoginBackoff, RateLimiter } from "./http/rate-limit";
import { appServerClasses } from "./http/server-classes";
import { createLogger } from "./logger";
import { metricsServer } from "./routes/operations";
import { AnalyticsService } from "./services/analytics";
import { ChatService } from "./services/chat";
import { ChatbotService } from "./services/chatbots";
import { ConversationChatbots } from "./services/conversation-chatbots";
import { ConversationService } from "./services/conversations";
import { trackActiveConversations } from "./telemetry/active-conversations";
import { createMetrics } from "./telemetry/metrics";

export interface ParleyHandle {
  url: string;
  port: number;
  /** Where /metrics answers: METRICS_PORT, or the API port when that is unset. */
  metricsUrl: string;
  close(): Promise<void>;
}

export async function startParley(config: AppConfig, options: { log?: Logger } = {}): Promise<ParleyHandle> {
  const log = options.log ?? createLogger(config);
  const metrics = createMetrics({ version: config.appVersion, commit: config.appCommit });
  const db = new Database({
    primaryUrl: config.databaseUrl,
    replicaUrls: config.databaseReplicaUrls,
    primaryMax: config.dbPoolMax,
    replicaMax: config.dbReplicaPoolMax,
    maxLagSeconds: config.replica.maxLagSeconds,
    checkIntervalMs: config.replica.checkIntervalMs,
    ...config.db,
    metrics,
    log,
  });
  const redis = new RedisGuard(config.redisUrl, metrics, log);
  const [, redisReady] = await Promise.all([db.start(), redis.ready(2_000)]);
  if (!redisReady) log.warn("redis not reachable yet; serving without cache and rate limits until it is");

  const cache = new Cache(
    redis,
    metrics,
    log,
    config.readYourWritesMs,
    config.replica.maxLagSeconds * 1000 + config.replica.checkIntervalMs,
  );
  const conversationStore = new ConversationStore(db);
  const chatbots = new ChatbotService(new ChatbotStore(db), cache, config.cacheTtlSeconds);
  const conversationChatbots = new ConversationChatbots(conversationStore);
  const aiUsage = new AiUsage(db, metrics);
  const chat = new ChatService({
    messages: new MessageStore(db),
    conversationChatbots,
    chatbots,
    provider: selectProvider(config.ai, metrics),
    cache,
    ttl: config.cacheTtlSeconds,
    semanticCache: new SemanticCache(redis, metrics, config.cacheTtlSeconds.aiResponse),
    usage: aiUsage,
    maxCompletionTokens: config.ai.maxCompletionTokens,
    idempotency: config.idempotency,
  });
  const maintenance = new Maintenance(db, config.analyticsRefreshIntervalMs, log);
  maintenance.start();
  void maintenance.runOnce();
  const stopActiveConversations = trackActiveConversations(
    conversationStore,
    metrics,
    config.activeConversationsIntervalMs,
    log,
  );

  let draining = false;
  const app = createApp({
    log,
    metrics,
    db,
    limiter: new RateLimiter(redis, config.rateLimits, metrics),
    loginBackoff: new LoginBackoff(redis, config.loginBackoff, metrics),
    trustedProxies: config.trustedProxies,
    users: new UserStore(db),
    chatbots,
    conversations: new ConversationService(conversationStore, cache, conversationChatbots),
    chat,
    analytics: new AnalyticsService(new AnalyticsStore(db), cache, config.cacheTtlSeconds.analytics, aiUsage),
    jwtSecret: config.jwtSecret,
    tokenTtlSeconds: config.tokenTtlSeconds,
    bodyLimitBytes: config.bodyLimitBytes,
    draining: () => draining,
    metricsOnApiPort: config.metricsPort === undefined,
  });
  const metricsListener = config.metricsPort === undefined ? undefined : metricsServer(metrics);
  if (metricsListener) {
    await new Promise<void>((resolve, reject) => {
      metricsListener.once("error", reject);
      metricsListener.listen(config.metricsPort, () => resolve());
    });
  }
  const server = createServer(
    {
      keepAliveTimeout: config.http.keepAliveMs,
      headersTimeout: config.http.headersMs,
      requestTimeout: config.http.requestMs,
      connectionsCheckingInterval: config.http.checkIntervalMs,
      ...appServerClasses(app),
    },
    app,
  );
  server.on("clientError", answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const metricsPort = metricsListener ? (metricsListener.address() as AddressInfo).port : port;
  log.info(
    { port, metricsPort, version: config.appVersion, provider: config.ai.provider },
    "parley listening",
  );

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    draining = true;
    log.info(
      { graceMs: config.shutdownGraceMs },
      "shutting down: readiness 503, draining in-flight requests",
    );
    const timer = setTimeout(() => {
      log.warn("grace period over: closing remaining connections");
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    await sleep(config.shutdownDrainMs);
    const drained = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections whose last response was already under way become idle later: close
    // each as soon as it does, so the process never waits out a keep-alive timeout.
    const reaper = setInterval(() => server.closeIdleConnections(), 50);
    server.closeIdleConnections();
    await drained;
    clearInterval(reaper);
    clearTimeout(timer);
    // Every reply is finished: this process's unused token leases go back to the budget.
    await aiUsage
      .close()
      .catch((error: unknown) =>
        log.warn(
          { error: (error as Error).message },
          "could not give token leases back; they stay reserved this month",
        ),
      );
    stopActiveConversations();
    await maintenance.stop();
    // Metrics stay scrapeable until the API has drained.
    if (metricsListener) await new Promise<void>((resolve) => metricsListener.close(() => resolve()));
    await Promise.all([db.close(), redis.close()]);
    log.info("shutdown complete");
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === "migrate") process.exit(await migrateCli(process.env));
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
  const parley = await startParley(config);
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.once(signal, () => {
      // Whatever still hangs after the grace period (a stuck pool) must not keep the pod alive.
      setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000).unref();
      parley.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(`parley failed to start: ${(error as Error).message}`);
    process.exit(1);
  });
