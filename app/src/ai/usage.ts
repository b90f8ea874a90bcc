/**
 * AI spend: monthly token budgets per organization, enforced with reservations, and usage per day
 * (provider replies, and what cache hits saved), priced with the dated price table.
 *
 * Budget check, atomic in PostgreSQL: before a provider call the organization reserves an upper bound
 * of the reply's tokens (prompt estimate + completion cap), and is admitted only while
 * `used + reserved < budget` — evaluated on the locked row (in `parley_reserve_tokens`, migrations 8
 * and 11, for each reservation of a batch in turn), so concurrent requests on any number of pods see
 * each other's reservations. When the reply is done, the reservation becomes its real token count.
 * Spend can pass the budget only by the one reply admitted last (and by any reply using more tokens
 * than it reserved), never by a burst of replies.
 *
 * Leases take that round trip off most replies. A reply the database admits may also reserve a lease
 * for its process: `leaseReplies` times its own tokens (more when replies outpace refills), at most a
 * sixteenth of what the budget has left, and at least one reply's tokens, else none (migration 11).
 * The process then admits its next replies of that organization and month from the lease without
 * asking, and asks for the next lease when half is drawn. Leased tokens are reserved tokens, so every
 * pod's admissions count them and leases never take spend past the budget; near the limit no lease is
 * granted and every reply is decided in the database as above. A lease no reply has drawn on for
 * `leaseIdleMs` goes back to the budget, and all of them when the process closes. Lowering a budget
 * takes no lease back: its tokens may still be given to replies until it is drawn or goes back. A
 * process that dies holding a lease leaves it reserved until the month ends, as it leaves the
 * reservations of its replies in progress: at most one lease per organization and month it served.
 */
import { perTurnLoader } from "../cache/per-turn-loader";
import type { Database } from "../db/database";
import type { Metrics } from "../telemetry/metrics";
import { budgetSql, defaultPlan as defaultPlanName, monthOf, nextMonth } from "./plans";
import { costUsd } from "./prices";

export type UsageSource = "provider" | "exact_cache" | "semantic_cache";
/** How the model was picked: a routing tier, or the provider's only model. */
export type UsageRoute = "cheap" | "strong" | "default";

export interface ReplyUsage {
  provider: string;
  model: string;
  route: UsageRoute;
  promptTokens: number;
  completionTokens: number;
}

/** New messages of an organization over its monthly token budget (an HTTP 429). */
export class BudgetExceededError extends Error {
  override name = "BudgetExceededError";
  readonly retryAfterSeconds: number;

  constructor(
    readonly usedTokens: number,
    readonly budgetTokens: number,
    now: Date,
  ) {
    const renews = nextMonth(now);
    const exhausted = usedTokens >= budgetTokens;
    super(
      exhausted
        ? `this organization has used its monthly AI token budget (${usedTokens} of ${budgetTokens} tokens); it renews on ${renews.toISOString().slice(0, 10)}`
        : `this organization's monthly AI token budget is nearly used (${usedTokens} of ${budgetTokens} tokens) and the rest is held by replies in progress; try again shortly`,
    );
    this.retryAfterSeconds = exhausted ? Math.ceil((renews.getTime() - now.getTime()) / 1000) : 2;
  }
}

export interface Reservation {
  organizationId: string;
  month: string;
  tokens: number;
}

export interface MonthUsage {
  month: string;
  plan: string;
  budget_tokens: number;
  used_tokens: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
  provider_replies: number;
  cached_replies: number;
  saved_cost_usd: number;
}

/** Reservations per call of `parley_reserve_tokens`. */
const maxReservationBatch = 200;

/** (organization, month) order: uuids compare as PostgreSQL orders them, as lowercase hex. */
const byBudgetRow = (a: Reservation, b: Reservation) => {
  const [first, second] = [a.organizationId.toLowerCase(), b.organizationId.toLowerCase()];
  if (first !== second) return first < second ? -1 : 1;
  return a.month < b.month ? -1 : a.month > b.month ? 1 : 0;
};

interface PendingReservation extends Reservation {
  at: Date;
  /** Tokens asked for beside the reservation's own, for this process's lease (0: none). */
  lease: number;
  /** The smallest lease worth having: one reply's tokens. */
  smallestLease: number;
  resolve: (reservation: Reservation) => void;
  reject: (error: unknown) => void;
}

/** Tokens of an organization's month this process has reserved and not yet given to a reply. */
interface Lease {
  organizationId: string;
  month: string;
  available: number;
  /** What the next lease asks for: `leaseReplies` replies, or more when replies outpace refills. */
  size: number;
  /** The tokens of the last reply that asked for a lease: a smaller one serves no reply. */
  replyTokens: number;
  /** When a reply last drew on it or tokens were added (Date.now()). */
  touchedAt: number;
  /** A reservation asking for a lease is queued or in flight. */
  refilling: boolean;
  /** Tokens replies drew from it or waited for while the refill was in flight. */
  demand: number;
  /** Replies that found it short while a refill was in flight: served from the refill when it comes. */
  waiting: PendingReservation[];
  /** When a lease was last refused (Date.now()): none is asked for in the `leaseIdleMs` after. */
  refusedAt: number;
}

export interface AiUsageOptions {
  /**
   * A lease is this many times the tokens of the reply that asks for it; 0 reserves every reply on its
   * own in the database.
   */
  leaseReplies?: number;
  /** A lease no reply has drawn on for this long goes back to the budget. */
  leaseIdleMs?: number;
  now?: () => Date;
}

const noop = () => undefined;

/** Distinct organizations' months read per turn: bounds the statements one turn sends. */
const maxMonthReadsPerTurn = 100;

export class AiUsage {
  private reservations: PendingReservation[] = [];
  /** The reservation calls in flight, until the queue is empty. */
  private reserving: Promise<void> | undefined;
  private readonly leases = new Map<string, Lease>();
  private leaseTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly leaseReplies: number;
  private readonly leaseIdleMs: number;
  private readonly now: () => Date;
  /**
   * The month() calls of one event-loop turn, one statement per organization and month: every
   * dashboard of an organization asked for in the turn shares it. Each statement starts after the
   * requests it answers arrived, so nothing is older than a read of its own would be.
   */
  private readonly monthReads = perTurnLoader<string, MonthUsage>(
    async (distinct) => {
      const read = await Promise.allSettled(distinct.map((key) => this.readMonth(key)));
      // One organization's failure is that organization's answer only.
      return read.map((outcome) =>
        outcome.status === "fulfilled" ? outcome.value : asError(outcome.reason),
      );
    },
    maxMonthReadsPerTurn,
    (key) => key,
  );

  constructor(
    private readonly db: Database,
    private readonly metrics: Metrics,
    options: AiUsageOptions = {},
  ) {
    this.leaseReplies = options.leaseReplies ?? 32;
    this.leaseIdleMs = options.leaseIdleMs ?? 500;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Reserves `tokens` of this month's budget, or throws BudgetExceededError. From this process's lease
   * when it holds enough; otherwise in the database, where reservations asked for while the previous
   * call is in flight go together in the next one (`parley_reserve_tokens`): admitted in their order
   * exactly as if made one after another, one round trip, and one lock and one write of each budget
   * row for the lot.
   */
  reserve(organizationId: string, tokens: number): Promise<Reservation> {
    const at = this.now();
    const month = monthOf(at);
    const lease = this.leases.get(leaseKey(organizationId, month));
    if (lease && lease.available >= tokens) {
      lease.available -= tokens;
      lease.touchedAt = Date.now();
      if (lease.refilling) lease.demand += tokens;
      else if (lease.available < lease.size / 2) this.refill(lease, at);
      return Promise.resolve({ organizationId, month, tokens });
    }
    return new Promise((resolve, reject) => {
      const pending = { organizationId, month, tokens, at, lease: 0, smallestLease: 0, resolve, reject };
      if (this.leaseReplies === 0) return this.enqueue(pending);
      const short = this.leaseOf(organizationId, month);
      if (short.refilling) {
        short.waiting.push(pending);
        short.demand += tokens;
        return;
      }
      if (this.recentlyRefused(short)) return this.enqueue(pending);
      // The reply asks for a lease with its own reservation: one round trip for both.
      short.size = Math.max(short.size, this.leaseReplies * tokens);
      short.replyTokens = tokens;
      pending.lease = short.size;
      pending.smallestLease = tokens;
      short.refilling = true;
      short.demand = 0;
      this.enqueue(pending);
    });
  }

  /** Asks for the next lease before this one runs out. */
  private refill(lease: Lease, at: Date): void {
    if (this.recentlyRefused(lease)) return;
    lease.refilling = true;
    lease.demand = 0;
    const { organizationId, month, size, replyTokens } = lease;
    this.enqueue({
      organizationId,
      month,
      tokens: 0,
      at,
      lease: size,
      smallestLease: replyTokens,
      resolve: noop,
      reject: noop,
    });
  }

  private enqueue(pending: PendingReservation): void {
    this.reservations.push(pending);
    this.reserving ??= new Promise((resolve) =>
      setImmediate(() => void this.drainReservations().then(resolve)),
    );
  }

  private async drainReservations(): Promise<void> {
    while (this.reservations.length > 0) {
      // The call locks each budget row as it comes to it. In one order, (organization, month), on every
      // pod, two pods' batches naming the same organizations cannot deadlock; the sort is stable, so
      // each organization's reservations keep the order they were asked in.
      const batch = this.reservations.splice(0, maxReservationBatch).sort(byBudgetRow);
      try {
        const ids = batch.map((pending) => pending.organizationId);
        const result = await this.db.query<{
          admitted: boolean;
          used_tokens: string;
          leased: string;
          budget: string;
        }>(
          "primary",
          "ai.budget.reserve",
          `WITH asked AS (
             SELECT o.n, coalesce((SELECT ${budgetSql} FROM organizations org WHERE org.id = o.id), 0) AS budget
             FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n)
           )
           SELECT r.admitted, r.used_tokens, r.leased, a.budget
           FROM public.parley_reserve_tokens($1::uuid[], $2::date[], $3::bigint[], ARRAY(SELECT budget FROM asked ORDER BY n), $4::bigint[], $5::bigint[])
             WITH ORDINALITY AS r(admitted, used_tokens, leased, n)
           JOIN asked a USING (n)
           ORDER BY n`,
          [
            ids,
            batch.map((pending) => pending.month),
            batch.map((pending) => pending.tokens),
            batch.map((pending) => pending.lease),
            batch.map((pending) => pending.smallestLease),
          ],
        );
        batch.forEach((pending, index) => {
          const row = result.rows[index];
          if (pending.lease > 0) this.leaseAnswered(pending, row?.admitted ? Number(row.leased) : 0);
          if (row?.admitted)
            pending.resolve({
              organizationId: pending.organizationId,
              month: pending.month,
              tokens: pending.tokens,
            });
          else
            pending.reject(
              new BudgetExceededError(Number(row?.used_tokens ?? 0), Number(row?.budget ?? 0), pending.at),
            );
        });
      } catch (error) {
        for (const pending of batch) {
          if (pending.lease > 0) this.leaseAnswered(pending, 0);
          pending.reject(error);
        }
      }
    }
    this.reserving = undefined;
  }

  /** The process's lease of the organization's month, created empty when it has none. */
  private leaseOf(organizationId: string, month: string): Lease {
    const known = this.leases.get(leaseKey(organizationId, month));
    if (known) return known;
    const lease: Lease = {
      organizationId,
      month,
      available: 0,
      size: 0,
      replyTokens: 0,
      touchedAt: Date.now(),
      refilling: false,
      demand: 0,
      waiting: [],
      refusedAt: Number.NEGATIVE_INFINITY,
    };
    this.leases.set(leaseKey(organizationId, month), lease);
    this.scheduleLeaseReturn();
    return lease;
  }

  /**
   * The answer to a lease asked for: the replies that waited for it are served from it, in order, or
   * sent to the database when it is short. Half a lease must outlast a refill's round trip, so the next
   * one asks for four times what replies took during this one's.
   */
  private leaseAnswered(pending: PendingReservation, leased: number): void {
    const lease = this.leaseOf(pending.organizationId, pending.month);
    lease.refilling = false;
    if (leased > 0) {
      lease.available += leased;
      lease.touchedAt = Date.now();
      lease.size = Math.max(lease.size, 4 * lease.demand);
    } else lease.refusedAt = Date.now();
    const waiting = lease.waiting;
    lease.waiting = [];
    for (const reply of waiting) {
      if (lease.available < reply.tokens) {
        this.enqueue(reply);
        continue;
      }
      lease.available -= reply.tokens;
      reply.resolve({ organizationId: reply.organizationId, month: reply.month, tokens: reply.tokens });
    }
    if (leased > 0 && lease.available < lease.size / 2) this.refill(lease, pending.at);
  }

  /** A lease was refused within `leaseIdleMs`: none is asked for meanwhile. */
  private recentlyRefused(lease: Lease): boolean {
    return Date.now() - lease.refusedAt < this.leaseIdleMs;
  }

  private scheduleLeaseReturn(): void {
    if (this.leaseTimer || this.closed) return;
    this.leaseTimer = setTimeout(() => {
      this.leaseTimer = undefined;
      this.returnLeases(false).catch(noop);
    }, this.leaseIdleMs);
    this.leaseTimer.unref();
  }

  /**
   * Gives back the leases no reply has drawn on for `leaseIdleMs` (`all`: every lease). In the
   * settlement's function, which updates budget rows in the order reservations lock them. Tokens a
   * failed call could not give back stay in their lease, to be given back later.
   */
  private async returnLeases(all: boolean): Promise<void> {
    const idleSince = Date.now() - this.leaseIdleMs;
    const returned: Lease[] = [];
    for (const [key, lease] of this.leases) {
      if (lease.refilling || (!all && lease.touchedAt > idleSince)) continue;
      this.leases.delete(key);
      if (lease.available > 0) returned.push(lease);
    }
    if (this.leases.size > 0) this.scheduleLeaseReturn();
    if (returned.length === 0) return;
    try {
      await this.db.query(
        "primary",
        "ai.budget.return_leases",
        "SELECT public.parley_settle_tokens($1::uuid[], $2::date[], $3::bigint[], $4::bigint[])",
        [
          returned.map((lease) => lease.organizationId),
          returned.map((lease) => lease.month),
          returned.map(() => 0),
          returned.map((lease) => lease.available),
        ],
      );
    } catch (error) {
      for (const lease of returned) this.addToLease(lease.organizationId, lease.month, lease.available);
      throw error;
    }
  }

  private addToLease(organizationId: string, month: string, tokens: number): void {
    const lease = this.leaseOf(organizationId, month);
    lease.available += tokens;
    lease.touchedAt = Date.now();
  }

  /**
   * Gives every lease back to the budget, once the reservations in flight are answered. The process's
   * replies must be finished: nothing reserves after this.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    await this.reserving;
    await this.returnLeases(true);
  }

  /**
   * Gives a reservation back (the provider failed: nothing was spent): to this process's lease, for
   * its next replies or to go back with it; without leases, to the budget.
   */
  async release(reservation: Reservation): Promise<void> {
    if (this.leaseReplies > 0 && !this.closed) {
      this.addToLease(reservation.organizationId, reservation.month, reservation.tokens);
      return;
    }
    await this.db.query(
      "primary",
      "ai.budget.release",
      `UPDATE ai_token_budget SET reserved_tokens = greatest(reserved_tokens - $3, 0)
       WHERE organization_id = $1 AND month = $2`,
      [reservation.organizationId, reservation.month, reservation.tokens],
    );
  }

  /** A provider reply's usage: its reservation becomes the reply's real token count. */
  providerReply(reservation: Reservation, reply: ReplyUsage): LedgerEntry {
    const at = this.now();
    return {
      organizationId: reservation.organizationId,
      source: "provider",
      reply,
      usd: costUsd(reply.model, reply, at).usd,
      at,
      reservation,
    };
  }

  /** A reply served from a cache: what the provider would have charged for it (nothing reserved). */
  cacheHit(organizationId: string, source: Exclude<UsageSource, "provider">, saved: ReplyUsage): LedgerEntry {
    const at = this.now();
    return { organizationId, source, reply: saved, usd: costUsd(saved.model, saved, at).usd, at };
  }

  /**
   * Writes an entry on its own. The write path stores the entry in the same statement as the exchange
   * it paid for (`ledgerCtes`, app/src/data/messages.ts) and calls this only when that statement
   * failed, so the reply's usage is still counted.
   */
  async record(entry: LedgerEntry): Promise<void> {
    const rows = ledgerRows("ledger_in", [entry], 1);
    await this.db.query(
      "primary",
      entry.source === "provider" ? "ai.usage.settle" : "ai.usage.cache_hit",
      `WITH ${rows.cte}, ${ledgerCtes("ledger_in")} SELECT 1`,
      rows.params,
    );
    this.recorded(entry);
  }

  /** Counts a written entry's cost in the metrics (provider replies only: a cache hit cost nothing). */
  recorded(entry: LedgerEntry): void {
    if (entry.source !== "provider") return;
    this.metrics.aiCost.inc(
      { organization: entry.organizationId, provider: entry.reply.provider, model: entry.reply.model },
      entry.usd,
    );
  }

  /** This month's budget and usage of an organization (read from the primary: it gates requests). */
  month(organizationId: string): Promise<MonthUsage> {
    return this.monthReads.load(`${organizationId} ${monthOf(this.now())}`);
  }

  /** month() for `key`: an organization id and the first day of a month, separated by a space. */
  private async readMonth(key: string): Promise<MonthUsage> {
    const [organizationId, month] = key.split(" ") as [string, string];
    const result = await this.db.query<Record<keyof MonthUsage, string>>(
      "primary",
      "ai.usage.month",
      `SELECT to_char($2::date, 'YYYY-MM') AS month, coalesce(org.plan, $3) AS plan, ${budgetSql} AS budget_tokens,
         coalesce((SELECT used_tokens FROM ai_token_budget WHERE organization_id = $1 AND month = $2::date), 0) AS used_tokens,
         coalesce(sum(u.prompt_tokens) FILTER (WHERE u.source = 'provider'), 0) AS prompt_tokens,
         coalesce(sum(u.completion_tokens) FILTER (WHERE u.source = 'provider'), 0) AS completion_tokens,
         coalesce(sum(u.cost_usd) FILTER (WHERE u.source = 'provider'), 0) AS cost_usd,
         coalesce(sum(u.replies) FILTER (WHERE u.source = 'provider'), 0) AS provider_replies,
         coalesce(sum(u.replies) FILTER (WHERE u.source <> 'provider'), 0) AS cached_replies,
         coalesce(sum(u.cost_usd) FILTER (WHERE u.source <> 'provider'), 0) AS saved_cost_usd
       FROM organizations org
       LEFT JOIN ai_usage_daily u ON u.organization_id = org.id AND u.day >= $2::date
         AND u.day < ($2::date + interval '1 month')
       WHERE org.id = $1
       GROUP BY org.id`,
      [organizationId, month, defaultPlanName],
    );
    const row = result.rows[0];
    if (!row) throw new Error(`organization ${organizationId} not found`);
    return {
      month: row.month,
      plan: row.plan,
      budget_tokens: Number(row.budget_tokens),
      used_tokens: Number(row.used_tokens),
      prompt_tokens: Number(row.prompt_tokens),
      completion_tokens: Number(row.completion_tokens),
      cost_usd: Number(row.cost_usd),
      provider_replies: Number(row.provider_replies),
      cached_replies: Number(row.cached_replies),
      saved_cost_usd: Number(row.saved_cost_usd),
    };
  }
}

const leaseKey = (organizationId: string, month: string) => `${organizationId} ${month}`;

const asError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)));

/** One reply's usage, priced, ready to be written (`ledgerCtes`). */
export interface LedgerEntry {
  organizationId: string;
  source: UsageSource;
  reply: ReplyUsage;
  usd: number;
  at: Date;
  /** A provider reply's reservation, settled by the same write. */
  reservation?: Reservation;
}

/** The columns of a relation of ledger entries (`ledgerRows`), with their types. */
const ledgerColumns = [
  ["organization_id", "uuid"],
  ["day", "date"],
  ["source", "text"],
  ["provider", "text"],
  ["model", "text"],
  ["route", "text"],
  ["prompt_tokens", "bigint"],
  ["completion_tokens", "bigint"],
  ["cost_usd", "numeric"],
  ["month", "date"],
  ["reserved_tokens", "bigint"],
] as const;

/**
 * `name AS (…)`: the entries as a relation, from one array parameter per column, numbered from
 * `first`. Returns the CTE and its parameters.
 */
export function ledgerRows(
  name: string,
  entries: LedgerEntry[],
  first: number,
): { cte: string; params: unknown[] } {
  const columns = ledgerColumns.map(([column, type], index) => ({
    column,
    type,
    param: `$${first + index}`,
  }));
  const values = entries.map((entry) => [
    entry.organizationId,
    entry.at.toISOString().slice(0, 10),
    entry.source,
    entry.reply.provider,
    entry.reply.model,
    entry.reply.route,
    entry.reply.promptTokens,
    entry.reply.completionTokens,
    entry.usd.toFixed(10),
    entry.reservation?.month ?? null,
    entry.reservation?.tokens ?? null,
  ]);
  return {
    cte: `${name} AS (
      SELECT * FROM unnest(${columns.map(({ param, type }) => `${param}::${type}[]`).join(", ")})
        AS l(${columns.map(({ column }) => column).join(", ")})
    )`,
    params: columns.map((_, index) => values.map((row) => row[index])),
  };
}

/**
 * CTEs writing the entries of relation `from` (`ledgerRows`): provider replies' reservations settled
 * into their real token counts, and every reply added to its day's row (for cache hits, what the
 * provider would have charged). Set-based, so one statement writes the usage of many replies; the
 * statement that stores the exchanges carries them (one round trip, one atomic write).
 */
export function ledgerCtes(from: string): string {
  // Budget rows are settled by parley_settle_tokens (migration 9: not here, where a reservation
  // committed meanwhile would make PostgreSQL re-check them across this whole statement), day rows in
  // the order they are inserted in; both in key order, so two pods' statements naming the same
  // organizations cannot deadlock. The day rows' insert reads the settlement's one row, so it runs
  // whenever there is usage (a CTE no statement reads is never run).
  return `ledger_settled AS (
      SELECT public.parley_settle_tokens(
        array_agg(organization_id), array_agg(month), array_agg(tokens), array_agg(reserved)
      ) AS applied
      FROM (
        SELECT organization_id, month, sum(prompt_tokens + completion_tokens)::bigint AS tokens,
          sum(reserved_tokens)::bigint AS reserved
        FROM ${from} WHERE month IS NOT NULL GROUP BY organization_id, month
      ) s
    ), ledger_usage AS (
      INSERT INTO ai_usage_daily AS u
        (organization_id, day, source, provider, model, route, replies, prompt_tokens, completion_tokens, cost_usd)
      SELECT organization_id, day, source, provider, model, route, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
      FROM ${from} CROSS JOIN ledger_settled GROUP BY organization_id, day, source, provider, model, route
      ORDER BY organization_id, day, source, provider, model, route
      ON CONFLICT (organization_id, day, source, provider, model, route) DO UPDATE SET
        replies = u.replies + EXCLUDED.replies,
        prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
        completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,
        cost_usd = u.cost_usd + EXCLUDED.cost_usd
    )`;
}
