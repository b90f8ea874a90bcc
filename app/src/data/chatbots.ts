/** Chatbots of an organization. */
import type { ChatbotAiSettings } from "../ai/chatbot-settings";
import type { KnowledgeEntry } from "../ai/provider";
import type { Database } from "../db/database";
import type { Cursor } from "../domain/cursor";
import { OrganizationPages } from "./keyset";

export interface Chatbot {
  id: string;
  organization_id: string;
  name: string;
  system_prompt: string;
  knowledge: KnowledgeEntry[];
  ai: ChatbotAiSettings;
  /** ISO 8601 text in UTC (db/timestamps.ts). */
  created_at: string;
  updated_at: string;
}

export type ChatbotSummary = Omit<Chatbot, "knowledge"> & { knowledge_count: number };

const columns = "id, organization_id, name, system_prompt, knowledge, ai, created_at, updated_at";
const summaryColumns =
  "id, organization_id, name, system_prompt, jsonb_array_length(knowledge) AS knowledge_count, ai, created_at, updated_at";

export class ChatbotStore {
  /** The list pages of one event-loop turn in one statement (OrganizationPages). */
  private readonly pages: OrganizationPages<ChatbotSummary>;

  constructor(private readonly db: Database) {
    this.pages = new OrganizationPages<ChatbotSummary>(db, "chatbots.list", "chatbots", summaryColumns);
  }

  async create(
    organizationId: string,
    input: { name: string; system_prompt?: string; knowledge?: KnowledgeEntry[]; ai?: ChatbotAiSettings },
  ): Promise<Chatbot> {
    const result = await this.db.query<Chatbot>(
      "primary",
      "chatbots.create",
      `INSERT INTO chatbots (organization_id, name, system_prompt, knowledge, ai) VALUES ($1, $2, $3, $4, $5)
       RETURNING ${columns}`,
      [
        organizationId,
        input.name,
        input.system_prompt ?? "",
        JSON.stringify(input.knowledge ?? []),
        JSON.stringify(input.ai ?? {}),
      ],
    );
    return result.rows[0]!;
  }

  async get(organizationId: string, id: string, fromPrimary: boolean): Promise<Chatbot | null> {
    const result = await this.db.read<Chatbot>(
      "chatbots.get",
      `SELECT ${columns} FROM chatbots WHERE id = $1 AND organization_id = $2`,
      [id, organizationId],
      { primary: fromPrimary },
    );
    return result.rows[0] ?? null;
  }

  /**
   * Newest first; fetches limit + 1 rows so the caller knows whether another page exists. Items carry
   * `knowledge_count` instead of the knowledge itself (up to 200 entries each: too big for a list).
   */
  list(organizationId: string, cursor: Cursor | undefined, limit: number, fromPrimary: boolean) {
    return this.pages.load(organizationId, cursor, limit, fromPrimary);
  }
}
