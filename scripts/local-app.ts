/**
 * The app on the local platform: its own database (migrated, replicated), the demo tenant, and the
 * service itself on a fixed port, logging to the state folder so the terminal stays readable.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { type AppConfig, loadConfig } from "../app/src/config";
import { migrate } from "../app/src/db/migrate";
import { createLogger, lineDestination } from "../app/src/logger";
import { type ParleyHandle, startParley } from "../app/src/main";
import { type DemoTenant, seedDemo } from "../app/src/seed";
import { buildWeb } from "../web/build";
import { type Platform, waitForReplay } from "./platform";

const database = "parley";

const withDatabase = (url: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

/** A signing secret kept in the state folder, so tokens stay valid across restarts. */
function localJwtSecret(stateDir: string): string {
  const file = join(stateDir, "jwt-secret");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/**
 * The app's config on the local platform: the caller's environment as the container would get it
 * (RATE_LIMIT_IP/USER/LOGIN_PER_MINUTE, AI_SIMULATED_LATENCY_MS, LOG_LEVEL, … so the local platform
 * can be load-tested), with the platform's connections.
 */
export function localAppConfig(
  env: NodeJS.ProcessEnv,
  local: { port: number; databaseUrl: string; replicaUrl: string; redisUrl: string; jwtSecret: string },
): AppConfig {
  return loadConfig({
    ...env,
    PORT: String(local.port),
    DATABASE_URL: local.databaseUrl,
    DATABASE_REPLICA_URL: local.replicaUrl,
    REDIS_URL: local.redisUrl,
    JWT_SECRET: env.JWT_SECRET ?? local.jwtSecret,
    // Nothing balances load in front of the local app: Ctrl-C need not wait for a long drain.
    SHUTDOWN_GRACE_MS: env.SHUTDOWN_GRACE_MS ?? "2000",
  });
}

export interface LocalApp {
  app: ParleyHandle;
  demo: DemoTenant;
  logFile: string;
}

export async function startLocalApp(
  platform: Platform,
  options: { port: number; step: <T>(title: string, run: () => Promise<T>) => Promise<T> },
): Promise<LocalApp> {
  const { step } = options;
  const databaseUrl = withDatabase(platform.postgresPrimary.url);
  await step(`database "${database}" migrated`, async () => {
    await ensureDatabase(platform.postgresPrimary.url);
    await migrate(databaseUrl);
  });
  const config = localAppConfig(process.env, {
    port: options.port,
    databaseUrl,
    replicaUrl: withDatabase(platform.postgresReplica.url),
    redisUrl: platform.redis.url,
    jwtSecret: process.env.JWT_SECRET ?? localJwtSecret(platform.stateDir),
  });
  const demo = await step("demo tenant seeded", () => seedDemo(config));
  await step("replica caught up with the schema and demo data", () =>
    waitForReplay(platform.postgresPrimary.url, platform.postgresReplica.url),
  );
  await step("chat page built (dist/web)", () => buildWeb());
  const logFile = join(platform.stateDir, "app.log");
  const log = createLogger(config, lineDestination(logFile));
  const app = await step(`parley app listening on 127.0.0.1:${options.port || "a free port"}`, () =>
    startParley(config, { log }),
  );
  return { app, demo, logFile };
}
