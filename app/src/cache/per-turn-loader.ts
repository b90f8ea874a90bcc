/**
 * A loader that gathers the calls of one event-loop turn into one batch: `setImmediate` runs after the
 * poll phase that handled the turn's requests, so every request served in it shares the batch's one
 * round trip. Nothing is remembered between turns (`cache: false`); a failed batch fails each of its
 * calls with that error, and an Error in the batch's answer fails only its own call.
 *
 * With `identity`, the calls of one batch that ask the same thing are asked once and share the answer
 * (the same object). They were all made before the batch was sent, so the one answer is as fresh for
 * each as its own would have been: a read, never a call with an effect of its own (a rate limit's count).
 */
import DataLoader from "dataloader";

export function perTurnLoader<K, V>(
  batch: (keys: readonly K[]) => Promise<Array<V | Error>>,
  maxBatchSize: number,
  identity?: (key: K) => string,
): DataLoader<K, V> {
  return new DataLoader<K, V>(identity ? distinctOnly(batch, identity) : batch, {
    cache: false,
    batchScheduleFn: (send) => setImmediate(send),
    maxBatchSize,
  });
}

function distinctOnly<K, V>(
  batch: (keys: readonly K[]) => Promise<Array<V | Error>>,
  identity: (key: K) => string,
): (keys: readonly K[]) => Promise<Array<V | Error>> {
  return async (keys) => {
    const positions = new Map<string, number>();
    const distinct: K[] = [];
    const positionOf = keys.map((key) => {
      const id = identity(key);
      let position = positions.get(id);
      if (position === undefined) {
        position = distinct.push(key) - 1;
        positions.set(id, position);
      }
      return position;
    });
    if (distinct.length === keys.length) return batch(keys);
    const answers = await batch(distinct);
    return positionOf.map((position) => answers[position] as V | Error);
  };
}
