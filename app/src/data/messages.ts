/** Messages of a conversation, and the idempotent write of one exchange (user + assistant). */
import type { ChatTurn } from "../ai/provider";
import type { Database, Queryable } from "../db/database";
import type { Cursor } from "../domain/cursor";
import { newestFirstPage, newestFirstPageParams } from "./keyset";

export interface Message {
  id: string;
  role: "user" | "assistant";
  content: string;
  created_at: Date;
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
  constructor(private readonly db: Database) {}

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
   * Stores the user message and the reply in one transaction, with the exchange as the response of
   * the caller's idempotency claim. Returns null, storing nothing, when the claim was lost meanwhile
   * (taken over as stale): the caller replays whatever the key holds instead.
   */
  async storeExchange(input: {
    organizationId: string;
    conversationId: string;
    userId: string;
    userContent: string;
    assistantContent: string;
    idempotency?: { key: string; claim: string };
  }): Promise<Exchange | null> {
    return this.db
      .transaction("messages.store_exchange", async (client) => {
        const exchange = await insertExchange(client, input);
        if (input.idempotency) {
          const stored = await client.query(
            `UPDATE idempotency_keys SET response = $4
           WHERE user_id = $1 AND key = $2 AND claim = $3 AND response IS NULL`,
            [input.userId, input.idempotency.key, input.idempotency.claim, JSON.stringify(exchange)],
          );
          if (stored.rowCount === 0) throw new LostClaim();
        }
        return exchange;
      })
      .catch((error: unknown) => {
        if (error instanceof LostClaim) return null;
        throw error;
      });
  }
}

class LostClaim extends Error {
  override name = "LostClaim";
}

async function insertExchange(
  client: Queryable,
  input: {
    organizationId: string;
    conversationId: string;
    userId: string;
    userContent: string;
    assistantContent: string;
  },
): Promise<Exchange> {
  // The user message gets the earlier timestamp (clock_timestamp() advances between rows; the reply
  // is forced at least 1 ms later so the two never tie at millisecond precision).
  const inserted = await client.query<Message>(
    `WITH first AS (
       INSERT INTO messages (conversation_id, organization_id, user_id, role, content)
       VALUES ($1, $2, $3, 'user', $4) RETURNING ${columns}
     ), second AS (
       INSERT INTO messages (conversation_id, organization_id, user_id, role, content, created_at)
       SELECT $1, $2, $3, 'assistant', $5, greatest(date_trunc('milliseconds', clock_timestamp()), first.created_at + interval '1 millisecond')
       FROM first RETURNING ${columns}
     ), touched AS (
       UPDATE conversations SET last_message_at = (SELECT created_at FROM second) WHERE id = $1
     )
     SELECT * FROM first UNION ALL SELECT * FROM second`,
    [input.conversationId, input.organizationId, input.userId, input.userContent, input.assistantContent],
  );
  const byRole = (role: Message["role"]) => inserted.rows.find((row) => row.role === role)!;
  return { user_message: byRole("user"), assistant_message: byRole("assistant") };
}
