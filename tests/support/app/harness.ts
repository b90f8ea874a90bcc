/**
 * Test harness: one migrated database (primary + replica), a Redis logical database and the app
 * started in-process on a free port, plus small API helpers. One per test file.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { type AppConfig, loadConfig } from "../../../app/src/config";
import { migrate } from "../../../app/src/db/migrate";
import { startParley } from "../../../app/src/main";
import { freePort, removeStateDir } from "../../../scripts/platform";
import {
  type PostgresServer,
  startPostgresPrimary,
  startPostgresReplica,
  waitForReplay,
} from "../../../scripts/platform/postgres";
import { isAlive } from "../../../scripts/platform/process";
import { createTestDatabase, createTestRedisUrl, platform, type TestDatabase } from "../platform";

export const jwtSecret = "test-secret-that-is-long-enough-for-hs256!";

export interface TestApp {
  url: string;
  /** Where /metrics answers (METRICS_PORT, or the API port). */
  metricsUrl: string;
  config: AppConfig;
  database: TestDatabase;
  close(): Promise<void>;
}

export type PrivateCluster = TestDatabase & {
  primary: PostgresServer;
  replica: PostgresServer;
  /** Stops one server at once (fast shutdown: sessions are cut), keeping its data and port. */
  stopServer(which: "primary" | "replica"): Promise<void>;
  /** Starts a stopped server again on its data and port. */
  startServer(which: "primary" | "replica"): Promise<void>;
  stop(): Promise<void>;
};

/**
 * A PostgreSQL primary + streaming replica of this test file's own, for tests that pause, freeze or
 * stop them: the shared cluster serves every other test file and must never be touched.
 */
export async function startPrivateCluster(name: string): Promise<PrivateCluster> {
  const { binaries, stateDir: shared } = platform();
  const stateDir = join(shared, `${name}-${randomUUID().slice(0, 8)}`);
  // Traversable by the `postgres` OS user the servers run as.
  mkdirSync(stateDir, { recursive: true });
  chmodSync(stateDir, 0o755);
  const common = { bin: binaries.postgresBin, stateDir, ephemeral: true };
  const primary = await startPostgresPrimary({ ...common, port: await freePort() });
  const replica = await startPostgresReplica({ ...common, port: await freePort(), primary });
  const cluster: PrivateCluster = {
    name: "postgres",
    primaryUrl: primary.url,
    replicaUrl: replica.url,
    replicated: () => waitForReplay(cluster.primary.url, cluster.replica.url),
    primary,
    replica,
    stopServer: async (which) => {
      const server = cluster[which];
      // SIGINT is PostgreSQL's fast shutdown; ServerProcess.stop() tries a smart one (SIGTERM) first,
      // which waits for the app's pooled sessions.
      if (isAlive(server.process.pid)) process.kill(server.process.pid, "SIGINT");
      await server.process.stop();
    },
    startServer: async (which) => {
      cluster[which] =
        which === "primary"
          ? await startPostgresPrimary({ ...common, port: cluster.primary.port })
          : await startPostgresReplica({ ...common, port: cluster.replica.port, primary: cluster.primary });
    },
    stop: async () => {
      await cluster.replica.process.stop();
      await cluster.primary.process.stop();
      removeStateDir(stateDir);
    },
  };
  return cluster;
}

export type ConfigOverrides = (config: AppConfig) => AppConfig;

/** A configuration for a test database and Redis, with generous rate limits unless overridden. */
export async function testConfig(prefix: string, env: NodeJS.ProcessEnv = {}, given?: TestDatabase) {
  const database = given ?? (await createTestDatabase(prefix));
  await migrate(database.primaryUrl);
  await database.replicated();
  const config = loadConfig({
    PORT: "0",
    DATABASE_URL: database.primaryUrl,
    DATABASE_REPLICA_URL: database.replicaUrl,
    REDIS_URL: await createTestRedisUrl(),
    JWT_SECRET: jwtSecret,
    LOG_LEVEL: "silent",
    DB_POOL_MAX: "5",
    DB_REPLICA_POOL_MAX: "5",
    SHUTDOWN_GRACE_MS: "5000",
    ...env,
  });
  config.shutdownDrainMs = 0;
  config.rateLimits = {
    ip: { limit: 100_000, windowSeconds: 60 },
    user: { limit: 100_000, windowSeconds: 60 },
    login: { limit: 1_000, windowSeconds: 60 },
    register: { limit: 100_000, windowSeconds: 3600 },
  };
  return { config, database };
}

export async function startTestApp(
  prefix: string,
  overrides: ConfigOverrides = (config) => config,
  env: NodeJS.ProcessEnv = {},
  given?: TestDatabase,
): Promise<TestApp> {
  const { config: base, database } = await testConfig(prefix, env, given);
  const config = overrides(base);
  const app = await startParley(config, { log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) });
  return { url: app.url, metricsUrl: app.metricsUrl, config, database, close: app.close };
}

/**
 * An app on a private cluster (see startPrivateCluster): the set-up of every test file that freezes,
 * stops or pauses a database server. `close()` stops both.
 */
export async function startClusterApp(
  name: string,
  overrides: ConfigOverrides = (config) => config,
  env: NodeJS.ProcessEnv = {},
): Promise<{ cluster: PrivateCluster; app: TestApp; close(): Promise<void> }> {
  const cluster = await startPrivateCluster(name);
  try {
    const app = await startTestApp(name, overrides, env, cluster);
    return {
      cluster,
      app,
      close: async () => {
        await app.close();
        await cluster.stop();
      },
    };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

// Responses are asserted field by field in tests; typing every body would add nothing.
// biome-ignore lint/suspicious/noExplicitAny: see above
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A JSON request; `token` adds the bearer header. */
// biome-ignore lint/suspicious/noExplicitAny: bodies are asserted field by field
export async function api<T = any>(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, static files)
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export interface Tenant {
  token: string;
  userId: string;
  organizationId: string;
  email: string;
  password: string;
}

export async function registerTenant(base: string): Promise<Tenant> {
  const email = `user-${randomUUID()}@example.com`;
  const password = "correct horse battery";
  const response = await api(base, "POST", "/api/auth/register", { body: { email, password, name: "Test" } });
  if (response.status !== 201) throw new Error(`register failed: ${JSON.stringify(response.body)}`);
  return {
    token: response.body.access_token,
    userId: response.body.user.id,
    organizationId: response.body.user.organization_id,
    email,
    password,
  };
}

export const knowledge = [
  { question: "What are your opening hours?", answer: "We are open nine to five on weekdays." },
  { question: "How much does the team plan cost?", answer: "The team plan costs 20 euros per seat." },
];

export async function createChatbot(base: string, token: string, name = "Helper") {
  const response = await api(base, "POST", "/api/chatbots", {
    token,
    body: { name, system_prompt: "Be brief.", knowledge },
  });
  if (response.status !== 201) throw new Error(`create chatbot failed: ${JSON.stringify(response.body)}`);
  return response.body as { id: string };
}

export async function createConversation(base: string, token: string, chatbotId: string, title = "Chat") {
  const response = await api(base, "POST", `/api/chatbots/${chatbotId}/conversations`, {
    token,
    body: { title },
  });
  if (response.status !== 201)
    throw new Error(`create conversation failed: ${JSON.stringify(response.body)}`);
  return response.body as { id: string; chatbot_id: string };
}

/** Posts a message asking for the reply as a server-sent event stream. */
export function postMessageStream(
  base: string,
  token: string,
  conversationId: string,
  content: string,
  { headers = {}, signal }: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(`${base}/api/conversations/${conversationId}/messages`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "text/event-stream",
      ...headers,
    },
    body: JSON.stringify({ content }),
    signal,
  });
}

/** Reads a server-sent event stream to its end. */
// biome-ignore lint/suspicious/noExplicitAny: event payloads are asserted field by field
export async function readEvents(response: Response): Promise<Array<{ event: string; data: any }>> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => ({
      event: /^event: (.*)$/m.exec(block)?.[1] ?? "message",
      data: JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null"),
    }));
}
