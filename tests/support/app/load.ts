/**
 * Bounded load on loopback for the fault suite: 4 workers each posting a message then reading its
 * conversation's history, before, during and after a fault. Every acknowledged (201) message is looked
 * up on the primary afterwards; the tally is printed at the end of the file's run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { type ApiResponse, api, createChatbot, createConversation, registerTenant } from "./harness";

export interface Tally {
  fault: string;
  sent: number;
  failed: number;
  readServerErrors: number;
  writeServerErrors: number;
  /** 5xx writes that were not a 503 with Retry-After (the answer of a write without a primary). */
  writeErrorsWithoutRetryAfter: number;
  /** 503 answers, reads or writes, without a Retry-After of at least 1 s. */
  unavailableWithoutRetryAfter: number;
  /** Requests that got no HTTP answer at all (connection refused or reset). */
  connectionErrors: number;
  lost: number;
  slowestMs: number;
  slowestFailedWriteMs: number;
  /** Failed answers by status and error code, e.g. `503 database_unavailable`. */
  failures: Record<string, number>;
}

const report: Tally[] = [];

/** The line each fault prints (and docs/reliability.md quotes). */
export function describeTally(t: Tally): string {
  return `fault "${t.fault}": ${t.sent} requests sent, ${t.failed} failed (reads 5xx ${t.readServerErrors}, writes 5xx ${t.writeServerErrors}, of which without 503 + Retry-After ${t.writeErrorsWithoutRetryAfter}; no answer ${t.connectionErrors}), ${t.lost} acknowledged writes lost, slowest ${t.slowestMs} ms (failed write ${t.slowestFailedWriteMs} ms); failures ${JSON.stringify(t.failures)}`;
}

/** Prints every tally of this file; call from afterAll. */
export function printReport(): void {
  for (const tally of report) console.log(describeTally(tally));
}

export interface LoadTarget {
  url: string;
  /** Where acknowledged writes are looked up afterwards. */
  primaryUrl: string;
}

/**
 * Runs the load for 500 ms, then `inject` (the fault, awaited), then 1 s more; then checks every
 * acknowledged write on the primary.
 */
export async function underLoad(
  target: LoadTarget,
  fault: string,
  inject: () => Promise<void>,
  { workers = 4 }: { workers?: number } = {},
): Promise<Tally> {
  const tenant = await registerTenant(target.url);
  const bot = await createChatbot(target.url, tenant.token);
  const conversations = await Promise.all(
    Array.from({ length: workers }, () => createConversation(target.url, tenant.token, bot.id)),
  );
  const tally: Tally = {
    fault,
    sent: 0,
    failed: 0,
    readServerErrors: 0,
    writeServerErrors: 0,
    writeErrorsWithoutRetryAfter: 0,
    unavailableWithoutRetryAfter: 0,
    connectionErrors: 0,
    lost: 0,
    slowestMs: 0,
    slowestFailedWriteMs: 0,
    failures: {},
  };
  const acknowledged: string[] = [];
  let running = true;
  const timed = async (write: boolean, run: () => Promise<ApiResponse>) => {
    const started = performance.now();
    const response = await run().catch(() => undefined);
    const elapsed = Math.round(performance.now() - started);
    tally.sent++;
    tally.slowestMs = Math.max(tally.slowestMs, elapsed);
    const status = response?.status ?? 0;
    const retryAfter = Number(response?.headers.get("retry-after"));
    const saysWhenToRetry = Number.isInteger(retryAfter) && retryAfter >= 1;
    if (status === 0) tally.connectionErrors++;
    if (status === 503 && !saysWhenToRetry) tally.unavailableWithoutRetryAfter++;
    if (status >= 400 || status === 0) {
      tally.failed++;
      const kind = `${status} ${response?.body?.error?.code ?? "no answer"}`;
      tally.failures[kind] = (tally.failures[kind] ?? 0) + 1;
    }
    if (write && status !== 201) tally.slowestFailedWriteMs = Math.max(tally.slowestFailedWriteMs, elapsed);
    if (status >= 500 || status === 0) {
      if (!write) tally.readServerErrors++;
      else {
        tally.writeServerErrors++;
        if (status !== 503 || !saysWhenToRetry) tally.writeErrorsWithoutRetryAfter++;
      }
    }
    if (write && status === 201) acknowledged.push(response!.body.user_message.id);
  };
  const loops = conversations.map(async (conversation, worker) => {
    for (let index = 0; running; index++) {
      await timed(true, () =>
        api(target.url, "POST", `/api/conversations/${conversation.id}/messages`, {
          token: tenant.token,
          body: { content: `worker ${worker} message ${index}` },
        }),
      );
      await timed(false, () =>
        api(target.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: tenant.token }),
      );
      await sleep(20);
    }
  });
  await sleep(500);
  await inject();
  await sleep(1_000);
  running = false;
  await Promise.all(loops);
  tally.lost = await missingOnPrimary(target.primaryUrl, acknowledged);
  report.push(tally);
  return tally;
}

/** How many of these message ids the primary does not have. */
export async function missingOnPrimary(primaryUrl: string, ids: string[]): Promise<number> {
  const primary = new pg.Pool({ connectionString: primaryUrl, max: 1 });
  try {
    const found = await primary.query("SELECT id FROM messages WHERE id = ANY($1::uuid[])", [ids]);
    return ids.length - found.rowCount!;
  } finally {
    await primary.end();
  }
}
