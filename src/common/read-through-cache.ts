import { LRUCache } from 'lru-cache';

export interface ReadThroughCacheOptions<V> {
  ttlMs: number;
  maxEntries: number;
  /** Bytes, as `sizeOf` counts them. */
  maxSize: number;
  sizeOf: (value: V) => number;
}

/**
 * A bounded read-through cache for rows read on every request (accounts, limit definitions):
 * entries live `ttlMs`, the least recently used leave first, and misses are never kept (a miss
 * is whatever anyone cares to ask for). Writers delete what they change; a read in flight while
 * anything is deleted does not write its result back, so an invalidation always wins over a
 * concurrent fill. A TTL of 0 disables caching.
 */
export class ReadThroughCache<V extends object> {
  private readonly entries: LRUCache<string, V> | undefined;
  /** Bumped by every deletion: a fill started before one is stale. */
  private epoch = 0;

  constructor(options: ReadThroughCacheOptions<V>) {
    if (options.ttlMs > 0) {
      this.entries = new LRUCache({ max: options.maxEntries, maxSize: options.maxSize, sizeCalculation: (value) => Math.max(1, options.sizeOf(value)), ttl: options.ttlMs });
    }
  }

  async get(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const hit = this.entries?.get(key);
    if (hit) return hit;
    const epoch = this.epoch;
    const value = await load();
    if (value && this.entries && epoch === this.epoch) this.entries.set(key, value);
    return value;
  }

  delete(key: string): void {
    this.epoch++;
    this.entries?.delete(key);
  }

  /** Drops every entry (a change that many entries derive from). */
  clear(): void {
    this.epoch++;
    this.entries?.clear();
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}
