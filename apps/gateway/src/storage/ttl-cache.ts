/**
 * A bounded cache with a time-to-live, counting hits and misses. Eviction is oldest-inserted
 * first (a Map keeps insertion order), which costs nothing on the hit path — the hot path of
 * GETATTR — unlike a true LRU's reordering.
 */
export class TtlCache<K, V> {
  /** By `keyOf(key)`; each entry keeps its key as given, for `invalidate`'s predicate. */
  private readonly map = new Map<unknown, { key: K; value: V; expires: number }>();
  hits = 0;
  misses = 0;

  /**
   * `keyOf`: the Map key a key is kept under, where the key itself is slow to hash (inode
   * numbers: `inoKey`). It must map different keys to different Map keys.
   */
  constructor(
    readonly name: string,
    private ttlMs: number,
    private maxEntries: number,
    private readonly keyOf: (key: K) => unknown = (key) => key,
  ) {}

  configure(ttlMs: number, maxEntries: number): void {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.trim();
  }

  /** `countMiss: false` for a quick look whose caller looks again on a miss (counted once then). */
  get(key: K, now = performance.now(), countMiss = true): V | undefined {
    const k = this.keyOf(key);
    const e = this.map.get(k);
    if (e !== undefined && e.expires > now) {
      this.hits++;
      return e.value;
    }
    if (e !== undefined) this.map.delete(k);
    if (countMiss) this.misses++;
    return undefined;
  }

  set(key: K, value: V, now = performance.now()): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    const k = this.keyOf(key);
    this.map.delete(k);
    this.map.set(k, { key, value, expires: now + this.ttlMs });
    this.trim();
  }

  delete(key: K): boolean {
    return this.map.delete(this.keyOf(key));
  }

  /** Drops entries matching the predicate (or all); returns how many were dropped. */
  invalidate(match?: (key: K, value: V) => boolean): number {
    if (!match) {
      const n = this.map.size;
      this.map.clear();
      return n;
    }
    let n = 0;
    for (const [k, e] of this.map) {
      if (match(e.key, e.value)) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.map.size;
  }

  private trim(): void {
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }
}
