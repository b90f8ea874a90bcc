/**
 * The analytics dashboard, cached per organization and window, plus this month's AI usage against
 * the token budget (read fresh: it is what decides whether messages are accepted).
 */
import type { AiUsage, MonthUsage } from "../ai/usage";
import type { Cache } from "../cache/cache";
import type { AnalyticsStore, Dashboard } from "../data/analytics";
import { keys } from "./keys";

export class AnalyticsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly cache: Cache,
    private readonly ttlSeconds: number,
    private readonly aiUsage: AiUsage,
  ) {}

  async dashboard(organizationId: string, days: number): Promise<Dashboard & { ai_usage: MonthUsage }> {
    const [dashboard, aiUsage] = await Promise.all([
      this.cachedDashboard(organizationId, days),
      this.aiUsage.month(organizationId),
    ]);
    return { ...dashboard, ai_usage: aiUsage };
  }

  private cachedDashboard(organizationId: string, days: number): Promise<Dashboard> {
    return this.cache.read({
      cache: "analytics",
      key: keys.analytics(organizationId, days),
      ttlSeconds: this.ttlSeconds,
      pins: [],
      load: () => this.store.dashboard(organizationId, days),
    });
  }
}
