/** Messages of a conversation, and the idempotent write of one exchange (user + assistant). */
import type { ChatTurn } from "../ai/provider";
import type { Database, Queryable } from "../db/database";
import type { Cursor } from "../http/cursor";
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

  async findIdempotent(
    userId: string,
    key: string,
  ): Promise<{ conversation_id: string; response: Exchange } | null> {
    const result = await this.db.query<{ conversation_id: string; response: Exchange }>(
      "primary",
      "idempotency.get",
      "SELECT conversation_id, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
      [userId, key],
    );
    return result.rows[0] ?? null;
  }

  /**
   * Stores the user message and the reply in one transaction. With an idempotency key already used
   * (a concurrent retry won), stores nothing and returns the first result instead.
   */
  async storeExchange(input: {
    organizationId: string;
    conversationId: string;
    userId: string;
    userContent: string;
    assistantContent: string;
    idempotencyKey?: string;
  }): Promise<{ exchange: Exchange; conversationId: string; replayed: boolean }> {
    return this.db.transaction("messages.store_exchange", async (client) => {
      if (input.idempotencyKey) {
        const claimed = await client.query(
          `INSERT INTO idempotency_keys (user_id, key, conversation_id, response) VALUES ($1, $2, $3, 'null')
           ON CONFLICT DO NOTHING`,
          [input.userId, input.idempotencyKey, input.conversationId],
        );
        if (claimed.rowCount === 0) {
          const existing = await client.query<{ conversation_id: string; response: Exchange }>(
            "SELECT conversation_id, response FROM idempotency_keys WHERE user_id = $1 AND key = $2",
            [input.userId, input.idempotencyKey],
          );
          const row = existing.rows[0]!;
          return { exchange: row.response, conversationId: row.conversation_id, replayed: true };
        }
      }
      const exchange = await insertExchange(client, input);
      if (input.idempotencyKey)
        await client.query("UPDATE idempotency_keys SET response = $3 WHERE user_id = $1 AND key = $2", [
          input.userId,
          input.idempotencyKey,
          JSON.stringify(exchange),
        ]);
      return { exchange, conversationId: input.conversationId, replayed: false };
    });
  }
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
