/** Messages of a conversation, and the idempotent write of one exchange (user + assistant). */
import type { ChatTurn } from "../ai/provider";
import { type Database, DatabaseUnavailableError } from "../db/database";
import type { Cursor } from "../domain/cursor";
import { type ExchangeInput, ExchangeWriter } from "./exchange-writer";
import { newestFirstPage, newestFirstPageParams } from "./keyset";

export interface Message {
  id: string;
  role: "user" | "assistant";
  content: string;
  /** ISO 8601 text in UTC (db/timestamps.ts). */
  created_at: string;
}

export interface Exchange {
  user_message: Message;
  assistant_message: Message;
}

export interface IdempotencyRecord {
  conversation_id: string;
  /** Null for keys stored before fingerprints were kept. */
  request_hash: string | null;
  /** Null while the first request is still being answered. */
  response: Exchange | null;
}

const columns = "id, role, content, created_at";

export class MessageStore {
  private readonly writer: ExchangeWriter;

  constructor(private readonly db: Database) {
    this.writer = new ExchangeWriter(db);
  }

  /**
   * One page, newest first (limit + 1 rows), in one query that also checks the conversation belongs
   * to the organization: null when it does not.
   */
  async page(
    organizationId: string,
    conversationId: string,
    cursor: Cursor | undefined,
    limit: number,
    fromPrimary: boolean,
  ): Promise<Message[] | null> {
    const result = await this.db.read<Partial<Message>>(
      "messages.page",
      `SELECT m.id, m.role, m.content, m.created_at
       FROM conversations c
       LEFT JOIN LATERAL (
         SELECT ${columns} FROM messages
         WHERE conversation_id = c.id AND ${newestFirstPage(3)}
       ) m ON true
       WHERE c.id = $1 AND c.organization_id = $2`,
      [conversationId, organizationId, ...newestFirstPageParams(cursor, limit)],
      { primary: fromPrimary },
    );
    if (result.rows.length === 0) return null;
    return result.rows.filter((row) => row.id !== null) as Message[];
  }

  /**
   * Throws DatabaseUnavailableError (a 503) while the primary is unreachable: a message is refused
   * before any work whose result could not be stored, as when its first statement was refused.
   */
  assertWritable(): void {
    if (!this.db.primaryReachable) throw new DatabaseUnavailableError("the primary database is unreachable");
  }

  /** The latest turns, oldest first, for providers that use context (primary: the write path). */
  async recentTurns(conversationId: string, count: number): Promise<ChatTurn[]> {
    const result = await this.db.query<ChatTurn>(
      "primary",
      "messages.recent",
      `SELECT role, content FROM (
         SELECT role, content, created_at, id FROM messages WHERE conversation_id = $1
         ORDER BY created_at DESC, id DESC LIMIT $2
       ) recent ORDER BY created_at, id`,
      [conversationId, count],
    );
    return result.rows;
  }

  /** What an Idempotency-Key holds: a finished exchange, or a claim still being answered (`response` null). */
  async findIdempotent(userId: string, key: string): Promise<IdempotencyRecord | null> {
    const result = await this.db.query<IdempotencyRecord>(
      "primary",
      "idempotency.get",
      "SELECT conversation_id, request_hash, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
      [userId, key],
    );
    return result.rows[0] ?? null;
  }

  /**
   * Claims an Idempotency-Key before the reply is produced (committed at once, so every pod sees it).
   * A claim older than `staleAfterMs` that never got its response (its pod died) is taken over.
   * Returns true when this caller holds the claim `claim`.
   */
  async claimIdempotencyKey(input: {
    userId: string;
    key: string;
    conversationId: string;
    requestHash: string;
    claim: string;
    staleAfterMs: number;
  }): Promise<boolean> {
    const result = await this.db.query<{ claim: string }>(
      "primary",
      "idempotency.claim",
      `INSERT INTO idempotency_keys (user_id, key, conversation_id, request_hash, claim, response)
       VALUES ($1, $2, $3, $4, $5, NULL)
       ON CONFLICT (user_id, key) DO UPDATE
         SET conversation_id = EXCLUDED.conversation_id, request_hash = EXCLUDED.request_hash,
             claim = EXCLUDED.claim, claimed_at = EXCLUDED.claimed_at, created_at = EXCLUDED.created_at
         WHERE idempotency_keys.response IS NULL
           AND idempotency_keys.claimed_at < now() - make_interval(secs => $6)
       RETURNING claim`,
      [
        input.userId,
        input.key,
        input.conversationId,
        input.requestHash,
        input.claim,
        input.staleAfterMs / 1000,
      ],
    );
    return result.rows[0]?.claim === input.claim;
  }

  /** Gives a claim up (the reply failed), so a retry can try again at once. */
  async releaseIdempotencyKey(userId: string, key: string, claim: string): Promise<void> {
    await this.db.query(
      "primary",
      "idempotency.release",
      "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND claim = $3 AND response IS NULL",
      [userId, key, claim],
    );
  }

  /**
   * Stores the user message and the reply, with the exchange as the response of the caller's
   * idempotency claim and the reply's usage (`ledger`), in one statement shared with the exchanges
   * stored at the same moment (./exchange-writer.ts). Returns null, storing no message, when the claim
   * was lost meanwhile (taken over as stale): the caller replays whatever the key holds instead. The
   * usage is written either way — the reply was produced.
   */
  storeExchange(input: ExchangeInput): Promise<Exchange | null> {
    return this.writer.store(input);
  }
}
