/**
 * Token leases on real PostgreSQL (app/src/ai/usage.ts, migration 11): a process admits its next
 * replies from a lease without a round trip, asks for the next lease when half is drawn, gets none near
 * the limit, gives a lease back when idle or closing, and keeps a failed reply's tokens in its lease.
 * Two processes spending one budget together never pass it by more than the one reply admitted last.
 */

import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../tests/support/platform";
import { AiUsage, type AiUsageOptions, BudgetExceededError, type Reservation } from "../src/ai/usage";
import { Database } from "../src/db/database";
import { migrate } from "../src/db/migrate";
import { createMetrics } from "../src/telemetry/metrics";

let database: TestDatabase;
let admin: pg.Pool;
/** Every pod's Database, closed after all. */
const pods: Database[] = [];

beforeAll(async () => {
  database = await createTestDatabase("leases");
  await migrate(database.primaryUrl);
  admin = new pg.Pool({ connectionString: database.primaryUrl, max: 2 });
});
afterAll(async () => {
  for (const pod of pods) await pod.close();
  await admin?.end();
});

/**
 * A process's AiUsage on its own Database (pool of four), the statements it ran by name, and how many
 * reservations it sent to the database (the entries of its reservation statements).
 */
async function pod(options: AiUsageOptions) {
  const metrics = createMetrics({ version: "t", commit: "t" });
  const db = new Database({
    primaryUrl: database.primaryUrl,
    primaryMax: 4,
    replicaMax: 1,
    maxLagSeconds: 5,
    checkIntervalMs: 60_000,
    metrics,
    log: pino({ level: "silent" }),
  });
  await db.start();
  pods.push(db);
  const sent = { reservations: 0 };
  const query = db.query.bind(db);
  db.query = ((...args: Parameters<typeof query>) => {
    if (args[1] === "ai.budget.reserve") sent.reservations += (args[3]![0] as string[]).length;
    return query(...args);
  }) as typeof db.query;
  const statements = async (operation: string) => {
    const { values } = await metrics.dbQueryDuration.get();
    const count = values.find(
      (value) => value.metricName?.endsWith("_count") && value.labels.operation === operation,
    );
    return count?.value ?? 0;
  };
  return { usage: new AiUsage(db, metrics, options), statements, sent };
}

async function organization(budget: number): Promise<string> {
  const { rows } = await admin.query(
    "INSERT INTO organizations (name, monthly_token_budget) VALUES ('leases', $1) RETURNING id",
    [budget],
  );
  return rows[0].id;
}

async function budgetRow(organizationId: string) {
  const { rows } = await admin.query(
    "SELECT used_tokens::int AS used, reserved_tokens::int AS reserved FROM ai_token_budget WHERE organization_id = $1",
    [organizationId],
  );
  return rows[0] as { used: number; reserved: number };
}

/** A reply that used exactly the tokens it reserved, settled as the write path settles it. */
const settle = (usage: AiUsage, reservation: Reservation) =>
  usage.record(
    usage.providerReply(reservation, {
      provider: "knowledge",
      model: "gpt-4o-mini",
      route: "default",
      promptTokens: reservation.tokens - 40,
      completionTokens: 40,
    }),
  );

async function eventually(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// A lease of 4 replies of 100 tokens: 400 tokens, granted while 16 × 400 fits in what is left.
const leaseReplies = 4;

describe("token leases", () => {
  it("admits a process's next replies from its lease without a statement, and asks for the next lease when half is drawn", async () => {
    const org = await organization(1_000_000);
    const { usage, statements } = await pod({ leaseReplies, leaseIdleMs: 60_000 });
    const first = await usage.reserve(org, 100);
    expect(await statements("ai.budget.reserve")).toBe(1);
    // The reply's own 100 and a lease of 400.
    expect(await budgetRow(org)).toEqual({ used: 0, reserved: 500 });
    const fromLease = [await usage.reserve(org, 100), await usage.reserve(org, 100)];
    expect(await statements("ai.budget.reserve")).toBe(1);
    // The fourth leaves 100 of 400: the next lease is asked for, while this reply goes on at once.
    fromLease.push(await usage.reserve(org, 100));
    await eventually(async () => (await budgetRow(org)).reserved === 900, "the next lease reserved");
    expect(await statements("ai.budget.reserve")).toBe(2);
    for (const reservation of [first, ...fromLease]) await settle(usage, reservation);
    // Four replies' 400 tokens used; the leases' 500 still reserved until given back.
    expect(await budgetRow(org)).toEqual({ used: 400, reserved: 500 });
    await usage.close();
    expect(await budgetRow(org)).toEqual({ used: 400, reserved: 0 });
    expect(await statements("ai.budget.return_leases")).toBe(1);
  });

  it("leases at most a sixteenth of what the budget has left after the reply, and nothing at the limit", async () => {
    const fits = await organization(100 + 16 * 400);
    const short = await organization(100 + 16 * 400 - 1);
    const spent = await organization(100 + 15);
    const { usage, statements } = await pod({ leaseReplies, leaseIdleMs: 60_000 });
    await Promise.all([usage.reserve(fits, 100), usage.reserve(short, 100), usage.reserve(spent, 100)]);
    expect(await budgetRow(fits)).toEqual({ used: 0, reserved: 100 + 400 });
    expect(await budgetRow(short)).toEqual({ used: 0, reserved: 100 + 399 });
    expect(await budgetRow(spent)).toEqual({ used: 0, reserved: 100 });
    // Nothing to lease: the next replies are decided in the database, one statement each here.
    await usage.reserve(spent, 100);
    await expect(usage.reserve(spent, 100)).rejects.toBeInstanceOf(BudgetExceededError);
    expect(await budgetRow(spent)).toEqual({ used: 0, reserved: 200 });
    expect(await statements("ai.budget.reserve")).toBe(3);
    await usage.close();
  });

  it("gives a lease no reply has drawn on back to the budget after leaseIdleMs", async () => {
    const org = await organization(1_000_000);
    const { usage, statements } = await pod({ leaseReplies, leaseIdleMs: 100 });
    const reservation = await usage.reserve(org, 100);
    expect(await budgetRow(org)).toEqual({ used: 0, reserved: 500 });
    await eventually(async () => (await budgetRow(org)).reserved === 100, "the idle lease given back");
    expect(await statements("ai.budget.return_leases")).toBe(1);
    await settle(usage, reservation);
    expect(await budgetRow(org)).toEqual({ used: 100, reserved: 0 });
    await usage.close();
  });

  it("keeps a failed reply's tokens in the process's lease, for its next replies, and gives them back on close", async () => {
    const org = await organization(1_000_000);
    const { usage, statements } = await pod({ leaseReplies, leaseIdleMs: 60_000 });
    const failed = await usage.reserve(org, 100);
    await usage.release(failed);
    expect(await statements("ai.budget.release")).toBe(0);
    expect(await budgetRow(org)).toEqual({ used: 0, reserved: 500 });
    // The lease now holds 500: three replies from it leave 200, half a lease, without a statement.
    for (let reply = 0; reply < 3; reply++) await usage.reserve(org, 100);
    expect(await statements("ai.budget.reserve")).toBe(1);
    await usage.close();
    // The three replies in progress keep their 300; the lease's 200 went back.
    expect(await budgetRow(org)).toEqual({ used: 0, reserved: 300 });
  });

  it("on close, waits for the reservations in flight and gives back the leases they bring", async () => {
    const org = await organization(1_000_000);
    const { usage } = await pod({ leaseReplies, leaseIdleMs: 60_000 });
    const inFlight = usage.reserve(org, 100);
    await usage.close();
    await inFlight;
    expect(await budgetRow(org)).toEqual({ used: 0, reserved: 100 });
  });

  it("never lets two processes spending one budget together pass it by more than the reply admitted last, and ends with nothing reserved", async () => {
    const budget = 200_000;
    const org = await organization(budget);
    const processes = [
      await pod({ leaseReplies, leaseIdleMs: 50 }),
      await pod({ leaseReplies, leaseIdleMs: 50 }),
    ];
    let admitted = 0;
    const deadline = Date.now() + 20_000;
    // Five replies at a time per process, each settled as soon as admitted, until the budget is spent.
    const worker = async ({ usage }: (typeof processes)[number]) => {
      while (Date.now() < deadline) {
        try {
          await settle(usage, await usage.reserve(org, 100));
          admitted++;
        } catch (error) {
          if (!(error instanceof BudgetExceededError)) throw error;
          if (error.usedTokens >= error.budgetTokens) return;
          // Held by replies in progress or the other process's lease, given back when idle.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      throw new Error("the budget was not spent within 20 s");
    };
    await Promise.all(processes.flatMap((process) => Array.from({ length: 5 }, () => worker(process))));
    for (const { usage } of processes) await usage.close();
    const row = await budgetRow(org);
    expect(row).toEqual({ used: admitted * 100, reserved: 0 });
    // Admitted while used + reserved < budget: the last one at most 99 tokens short of it.
    expect(row.used).toBeGreaterThanOrEqual(budget);
    expect(row.used).toBeLessThanOrEqual(budget + 99);
    // Most replies were admitted from leases, never sent to the database.
    const sentToDatabase = processes[0]!.sent.reservations + processes[1]!.sent.reservations;
    expect(sentToDatabase).toBeLessThan(admitted / 4);
  });
});
