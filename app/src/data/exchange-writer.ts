/**
 * Writes exchanges (a user message and its reply) the way a busy pod produces them: every exchange
 * ready while the previous write is in flight joins the next one, and one statement stores them all —
 * the messages, each conversation's last_message_at, each Idempotency-Key's response, and the replies'
 * usage (app/src/ai/usage.ts). One round trip, one commit and one update of each organization's budget
 * row per batch, instead of per message: those rows are what every message of an organization
 * queues on. Alone, an exchange is written at once (a batch of one).
 *
 * One batch is in flight at a time, so a pod's batches never wait on each other's row locks; a batch
 * holds at most one exchange per conversation and locks its conversations' rows before taking
 * timestamps, so a conversation's messages get strictly increasing timestamps, an exchange's two
 * adjacent, even when two pods write the conversation at once. A batch that fails for a reason other
 * than the connection is written again one exchange at a time, so only the exchange at fault fails.
 */
import { randomUUID } from "node:crypto";
import { type LedgerEntry, ledgerCtes, ledgerRows } from "../ai/usage";
import { type Database, isConnectionError } from "../db/database";
import type { Exchange, Message } from "./messages";

export interface ExchangeInput {
  organizationId: string;
  conversationId: string;
  userId: string;
  userContent: string;
  assistantContent: string;
  /** The caller's claim on an Idempotency-Key: the exchange is stored only while it still holds it. */
  idempotency?: { key: string; claim: string };
  /** The reply's usage, written whether or not the exchange is stored. */
  ledger?: LedgerEntry;
}

interface Pending {
  input: ExchangeInput;
  /** Chosen here, so each exchange finds its rows among the batch's. */
  userMessageId: string;
  assistantMessageId: string;
  resolve: (exchange: Exchange | null) => void;
  reject: (error: unknown) => void;
}

/** Exchanges per statement: bounds its size and time (the client-side query timeout applies). */
const maxBatch = 100;

const columns = "id, role, content, created_at";

/**
 * A stored message as JSON, exactly as the API sends it (JSON.stringify of the row: created_at in
 * ISO 8601 UTC with milliseconds, the precision of every timestamp), so a replay answers the same body.
 */
const messageJson = (row: string) =>
  `jsonb_build_object('id', ${row}.id, 'role', ${row}.role, 'content', ${row}.content, 'created_at', to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

/** The batch statement: $1–$9 the exchanges (one array per column), then the ledger's arrays. */
function batchSql(ledgerCte: string | undefined): string {
  return `WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::uuid[])
        AS i(user_message_id, assistant_message_id, conversation_id, organization_id, user_id, user_content, assistant_content, key, claim)
    ),
    -- Claims are locked first: a concurrent takeover either finished before (the claim is gone and
    -- the exchange is not stored) or waits for this statement (and then finds the response set).
    held AS (
      SELECT i.user_message_id FROM input i
      JOIN idempotency_keys k ON k.user_id = i.user_id AND k.key = i.key AND k.claim = i.claim AND k.response IS NULL
      FOR UPDATE OF k
    ),
    admitted AS (
      SELECT * FROM input WHERE key IS NULL OR user_message_id IN (SELECT user_message_id FROM held)
    ),
    -- Each conversation's row is locked (in id order, so two pods' batches cannot deadlock) before its
    -- exchange takes timestamps: a concurrent statement on the same conversation waits, then reads the
    -- last_message_at this one set (READ COMMITTED re-reads a locked row's newest version).
    latest AS (
      SELECT c.id, c.last_message_at FROM conversations c
      WHERE c.id IN (SELECT conversation_id FROM admitted)
      ORDER BY c.id
      FOR NO KEY UPDATE
    ),
    -- Messages are read in (created_at, id) order at millisecond precision, so every message is forced
    -- at least 1 ms after the one before it: the user message after the conversation's last reply
    -- (which may itself have been forced ahead of the clock), the reply after the user message.
    first AS (
      INSERT INTO messages (id, conversation_id, organization_id, user_id, role, content, created_at)
      SELECT a.user_message_id, a.conversation_id, a.organization_id, a.user_id, 'user', a.user_content,
        greatest(date_trunc('milliseconds', clock_timestamp()), l.last_message_at + interval '1 millisecond')
      FROM admitted a LEFT JOIN latest l ON l.id = a.conversation_id
      RETURNING ${columns}
    ),
    second AS (
      INSERT INTO messages (id, conversation_id, organization_id, user_id, role, content, created_at)
      SELECT a.assistant_message_id, a.conversation_id, a.organization_id, a.user_id, 'assistant', a.assistant_content,
        greatest(date_trunc('milliseconds', clock_timestamp()), f.created_at + interval '1 millisecond')
      FROM admitted a JOIN first f ON f.id = a.user_message_id
      RETURNING ${columns}, conversation_id
    ),
    touched AS (
      UPDATE conversations c SET last_message_at = s.created_at FROM second s WHERE c.id = s.conversation_id
    ),
    stored AS (
      UPDATE idempotency_keys k
      SET response = jsonb_build_object('user_message', ${messageJson("f")}, 'assistant_message', ${messageJson("s")})
      FROM admitted a JOIN first f ON f.id = a.user_message_id JOIN second s ON s.id = a.assistant_message_id
      WHERE a.key IS NOT NULL AND k.user_id = a.user_id AND k.key = a.key AND k.claim = a.claim
    )${ledgerCte ? `,\n    ${ledgerCte},\n    ${ledgerCtes("ledger_in")}` : ""}
    SELECT ${columns} FROM first UNION ALL SELECT ${columns} FROM second`;
}

export class ExchangeWriter {
  private queue: Pending[] = [];
  private writing = false;

  constructor(private readonly db: Database) {}

  store(input: ExchangeInput): Promise<Exchange | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        input,
        userMessageId: randomUUID(),
        assistantMessageId: randomUUID(),
        resolve,
        reject,
      });
      if (!this.writing) {
        this.writing = true;
        // The exchanges finished in this turn of the event loop join the first batch.
        setImmediate(() => void this.writeNext());
      }
    });
  }

  /**
   * Writes the next batch, if any exchange is waiting. The batch after it leaves as soon as its
   * statement is done, before its callers are answered: answering a batch (each caller's response
   * written) took about a millisecond under POST, and the next statement waited for that
   * (docs/performance.md, fifteenth round).
   */
  private async writeNext(): Promise<void> {
    const batch = this.takeBatch();
    if (batch.length === 0) {
      this.writing = false;
      return;
    }
    let rows: Map<string, Message>;
    try {
      rows = await this.write(batch);
    } catch (error) {
      await this.settleFailed(batch, error);
      return this.writeNext();
    }
    void this.writeNext();
    // pg sends a statement from process.nextTick (pg-pool's connect() hands over an idle client in a
    // pulse on the tick queue), which runs only after the microtask queue is empty. Callers resolved
    // here would write their responses first; resolved from a later tick, they do it after the next
    // batch has left.
    process.nextTick(() => {
      for (const pending of batch) pending.resolve(exchangeOf(pending, rows));
    });
  }

  /** The queue's next batch: at most maxBatch exchanges, one per conversation, in arrival order. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const later: Pending[] = [];
    const conversations = new Set<string>();
    for (const pending of this.queue) {
      if (batch.length < maxBatch && !conversations.has(pending.input.conversationId)) {
        conversations.add(pending.input.conversationId);
        batch.push(pending);
      } else later.push(pending);
    }
    this.queue = later;
    return batch;
  }

  /**
   * A failed batch: written again one exchange at a time, so only the exchange at fault fails; a batch
   * of one, or a lost connection (the outcome unknown), fails every exchange with the error.
   */
  private async settleFailed(batch: Pending[], error: unknown): Promise<void> {
    if (batch.length === 1 || isConnectionError(error)) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const pending of batch) {
      try {
        pending.resolve(exchangeOf(pending, await this.write([pending])));
      } catch (alone) {
        pending.reject(alone);
      }
    }
  }

  private async write(batch: Pending[]): Promise<Map<string, Message>> {
    const column = (value: (pending: Pending) => unknown) => batch.map(value);
    const params: unknown[] = [
      column((p) => p.userMessageId),
      column((p) => p.assistantMessageId),
      column((p) => p.input.conversationId),
      column((p) => p.input.organizationId),
      column((p) => p.input.userId),
      column((p) => p.input.userContent),
      column((p) => p.input.assistantContent),
      column((p) => p.input.idempotency?.key ?? null),
      column((p) => p.input.idempotency?.claim ?? null),
    ];
    const entries = batch.flatMap((pending) => (pending.input.ledger ? [pending.input.ledger] : []));
    const ledger = entries.length > 0 ? ledgerRows("ledger_in", entries, params.length + 1) : undefined;
    if (ledger) params.push(...ledger.params);
    const result = await this.db.query<Message>(
      "primary",
      "messages.store_exchange",
      batchSql(ledger?.cte),
      params,
    );
    return new Map(result.rows.map((row) => [row.id, row]));
  }
}

/** The exchange's two stored messages, or null when its claim was lost (nothing stored). */
function exchangeOf(pending: Pending, rows: Map<string, Message>): Exchange | null {
  const user = rows.get(pending.userMessageId);
  const assistant = rows.get(pending.assistantMessageId);
  return user && assistant ? { user_message: user, assistant_message: assistant } : null;
}
