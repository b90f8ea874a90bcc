/**
 * A Map that drops its oldest entry when a new key would take it past `limit`: the process-local
 * memos (verified tokens, analysed questions, knowledge indexes, conversations' chatbots) stay bounded
 * however many distinct keys a pod sees. Oldest is insertion order; delete and set again to refresh.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.limit) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
