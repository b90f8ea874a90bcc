/**
 * The analytics dashboard of an organization: daily rows from the analytics_daily table (its latest
 * days recomputed on a schedule, see db/maintenance.ts) and totals over the window.
 */
import type { Database } from "../db/database";

export interface Dashboard {
  totals: { conversations: number; messages: number; unique_users: number; chatbots: number };
  daily: Array<{ date: string; conversations: number; messages: number; unique_users: number }>;
}

export class AnalyticsStore {
  constructor(private readonly db: Database) {}

  async dashboard(organizationId: string, days: number): Promise<Dashboard> {
    const since = `(now() AT TIME ZONE 'UTC')::date - ($2::int - 1)`;
    const [daily, totals] = await Promise.all([
      this.db.read<Dashboard["daily"][number]>(
        "analytics.daily",
        `SELECT to_char(day, 'YYYY-MM-DD') AS date, conversations::int, messages::int, unique_users::int
         FROM analytics_daily WHERE organization_id = $1 AND day >= ${since} ORDER BY day`,
        [organizationId, days],
      ),
      this.db.read<Omit<Dashboard["totals"], "messages">>(
        "analytics.totals",
        `SELECT
           (SELECT count(*) FROM conversations WHERE organization_id = $1 AND created_at >= ${since})::int AS conversations,
           (SELECT count(DISTINCT user_id) FROM conversations
              WHERE organization_id = $1 AND last_message_at >= ${since})::int AS unique_users,
           (SELECT count(*) FROM chatbots WHERE organization_id = $1)::int AS chatbots`,
        [organizationId, days],
      ),
    ]);
    // The messages total is the daily rows' own sum, not a second read of analytics_daily: the two
    // statements run on two connections, and a recompute between them (or a replica replaying one)
    // gave a dashboard whose total counted messages its days did not.
    const { conversations, unique_users, chatbots } = totals.rows[0]!;
    const messages = daily.rows.reduce((sum, day) => sum + day.messages, 0);
    return { totals: { conversations, messages, unique_users, chatbots }, daily: daily.rows };
  }
}
