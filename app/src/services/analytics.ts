/** The analytics dashboard, cached per organization and window. */
import type { Cache } from "../cache/cache";
import type { AnalyticsStore, Dashboard } from "../data/analytics";
import { keys } from "./keys";

export class AnalyticsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly cache: Cache,
    private readonly ttlSeconds: number,
  ) {}

  dashboard(organizationId: string, days: number): Promise<Dashboard> {
    return this.cache.read({
      cache: "analytics",
      key: keys.analytics(organizationId, days),
      ttlSeconds: this.ttlSeconds,
      pins: [],
      load: () => this.store.dashboard(organizationId, days),
    });
  }
}
