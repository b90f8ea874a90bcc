/** Conversations of an organization. */
import { perTurnLoader } from "../cache/per-turn-loader";
import type { Database } from "../db/database";
import type { Cursor } from "../domain/cursor";
import { OrganizationPages } from "./keyset";

export interface Conversation {
  id: string;
  chatbot_id: string;
  title: string | null;
  /** ISO 8601 text in UTC (db/timestamps.ts). */
  created_at: string;
}

const columns = "id, chatbot_id, title, created_at";

interface ConversationKey {
  organizationId: string;
  id: string;
}

export class ConversationStore {
  /**
   * The look-ups of one event-loop turn in one statement: every message posted to a conversation this
   * process has not seen reads it, and 1000 streams opened at once were 1000 round trips (each a
   * socket write and a pool slot). Nothing is cached across turns.
   */
  private readonly byId = perTurnLoader<ConversationKey, Conversation | null>(
    (keys) => this.getMany(keys),
    500,
  );

  /** The list pages of one event-loop turn in one statement (OrganizationPages). */
  private readonly pages: OrganizationPages<Conversation>;

  constructor(private readonly db: Database) {
    this.pages = new OrganizationPages<Conversation>(db, "conversations.list", "conversations", columns);
  }

  /** Null when the chatbot is not the organization's. */
  async create(
    organizationId: string,
    chatbotId: string,
    userId: string,
    title: string | null,
  ): Promise<Conversation | null> {
    const result = await this.db.query<Conversation>(
      "primary",
      "conversations.create",
      `INSERT INTO conversations (organization_id, chatbot_id, user_id, title)
       SELECT organization_id, id, $3, $4 FROM chatbots WHERE id = $1 AND organization_id = $2
       RETURNING ${columns}`,
      [chatbotId, organizationId, userId, title],
    );
    return result.rows[0] ?? null;
  }

  /** On the primary: used on the write path. */
  get(organizationId: string, id: string): Promise<Conversation | null> {
    return this.byId.load({ organizationId, id });
  }

  /** One statement for many look-ups; a conversation of another organization is not found. */
  private async getMany(keys: readonly ConversationKey[]): Promise<Array<Conversation | null>> {
    const result = await this.db.query<Conversation & { organization_id: string }>(
      "primary",
      "conversations.get",
      `SELECT organization_id, ${columns} FROM conversations WHERE id = ANY($1::uuid[])`,
      [[...new Set(keys.map((key) => key.id))]],
    );
    const found = new Map(
      result.rows.map(({ organization_id, ...conversation }) => [
        conversation.id,
        { organization_id, conversation },
      ]),
    );
    return keys.map((key) => {
      const row = found.get(key.id);
      return row?.organization_id === key.organizationId ? row.conversation : null;
    });
  }

  /** Newest first; limit + 1 rows. */
  list(organizationId: string, cursor: Cursor | undefined, limit: number, fromPrimary: boolean) {
    return this.pages.load(organizationId, cursor, limit, fromPrimary);
  }

  /** Conversations with a message in the last five minutes, across all tenants. */
  async countActive(): Promise<number> {
    const result = await this.db.read<{ count: number }>(
      "conversations.count_active",
      "SELECT count(*)::int AS count FROM conversations WHERE last_message_at > now() - interval '5 minutes'",
      [],
    );
    return result.rows[0]?.count ?? 0;
  }
}
