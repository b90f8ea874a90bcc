import Redis from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryPrometheus } from "../scripts/platform";
import { createTestDatabase, platform, type TestDatabase } from "./support/platform";

describe("local platform", () => {
  let database: TestDatabase;
  let primary: pg.Client;
  let replica: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase("platform");
    primary = new pg.Client({ connectionString: database.primaryUrl });
    replica = new pg.Client({ connectionString: database.replicaUrl });
    await Promise.all([primary.connect(), replica.connect()]);
  });

  afterAll(async () => {
    await Promise.all([primary?.end(), replica?.end()]);
  });

  it("streams a row written on the primary to the replica", async () => {
    await primary.query("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)");
    const written = await primary.query<{ id: number }>("INSERT INTO notes (body) VALUES ($1) RETURNING id", [
      "hello from the primary",
    ]);
    await database.replicated();
    const read = await replica.query<{ body: string }>("SELECT body FROM notes WHERE id = $1", [
      written.rows[0]!.id,
    ]);
    expect(read.rows).toEqual([{ body: "hello from the primary" }]);
  });

  it("serves the replica read-only, in recovery", async () => {
    const recovery = await replica.query<{ in_recovery: boolean }>(
      "SELECT pg_is_in_recovery() AS in_recovery",
    );
    expect(recovery.rows[0]!.in_recovery).toBe(true);
    await expect(replica.query("CREATE TABLE forbidden (id int)")).rejects.toThrow(/read-only transaction/);
  });

  it("answers Redis PING", async () => {
    const redis = new Redis(platform().redis.url);
    try {
      expect(await redis.ping()).toBe("PONG");
    } finally {
      redis.disconnect();
    }
  });

  it("has Prometheus scraping itself and Alertmanager ready", async () => {
    const up = await queryPrometheus(platform().prometheus.url, 'up{job="prometheus"}');
    expect(up.map((sample) => sample.value[1])).toEqual(["1"]);
    const ready = await fetch(`${platform().alertmanager.url}/-/ready`);
    expect(ready.status).toBe(200);
  });
});
