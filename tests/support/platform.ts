/**
 * What integration tests use of the platform the global set-up started: connection URLs, a fresh
 * database per test file (replicated to the replica), a Redis logical database of their own, and
 * Prometheus scrape targets.
 */
import { randomUUID } from "node:crypto";
import Redis from "ioredis";
import pg from "pg";
import { inject } from "vitest";
import { waitForReplay, writeTargets } from "../../scripts/platform";
import type { Binaries } from "../../scripts/platform/binaries";

export interface PlatformInfo {
  stateDir: string;
  postgres: { primaryUrl: string; replicaUrl: string };
  redis: { url: string; port: number };
  prometheus: { url: string };
  alertmanager: { url: string };
  binaries: Binaries;
}

declare module "vitest" {
  export interface ProvidedContext {
    platform: PlatformInfo;
  }
}

export function platform(): PlatformInfo {
  return inject("platform");
}

const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};

export interface TestDatabase {
  name: string;
  primaryUrl: string;
  replicaUrl: string;
  /** Waits until the replica has replayed every write made on the primary so far. */
  replicated(): Promise<void>;
}

/** Creates an empty database for one test file; it exists on the replica when this resolves. */
export async function createTestDatabase(prefix = "test"): Promise<TestDatabase> {
  const { postgres } = platform();
  const name = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 12)}`.toLowerCase();
  const admin = new pg.Client({ connectionString: postgres.primaryUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const replicated = () => waitForReplay(postgres.primaryUrl, postgres.replicaUrl);
  await replicated();
  return {
    name,
    primaryUrl: withDatabase(postgres.primaryUrl, name),
    replicaUrl: withDatabase(postgres.replicaUrl, name),
    replicated,
  };
}

/** A Redis URL on a logical database no other test file uses. */
export async function createTestRedisUrl(): Promise<string> {
  const { redis } = platform();
  const client = new Redis(redis.url);
  try {
    const index = await client.incr("parley:test:next-db");
    if (index > 255)
      throw new Error("out of Redis logical databases (256): raise --databases in scripts/platform/redis.ts");
    return `${redis.url}/${index}`;
  } finally {
    client.disconnect();
  }
}

/** Points the Prometheus scrape job at these `host:port` targets. */
export function setScrapeTargets(job: string, targets: string[]): void {
  writeTargets(platform().stateDir, job, targets);
}
