/**
 * A loader that gathers the calls of one event-loop turn into one batch: `setImmediate` runs after the
 * poll phase that handled the turn's requests, so every request served in it shares the batch's one
 * round trip. Nothing is remembered between turns (`cache: false`); a failed batch fails each of its
 * calls with that error, and an Error in the batch's answer fails only its own call.
 */
import DataLoader from "dataloader";

export function perTurnLoader<K, V>(
  batch: (keys: readonly K[]) => Promise<Array<V | Error>>,
  maxBatchSize: number,
): DataLoader<K, V> {
  return new DataLoader<K, V>(batch, {
    cache: false,
    batchScheduleFn: (send) => setImmediate(send),
    maxBatchSize,
  });
}
