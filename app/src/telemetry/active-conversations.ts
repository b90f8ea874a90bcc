/** Keeps parley_active_conversations current with a periodic count (not one query per scrape). */
import type { Logger } from "pino";
import type { ConversationStore } from "../data/conversations";
import type { Metrics } from "./metrics";

export function trackActiveConversations(
  conversations: ConversationStore,
  metrics: Metrics,
  intervalMs: number,
  log: Logger,
): () => void {
  const update = () =>
    conversations
      .countActive()
      .then((count) => metrics.activeConversations.set(count))
      .catch((error) => log.warn({ err: error }, "counting active conversations failed"));
  void update();
  const timer = setInterval(update, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
