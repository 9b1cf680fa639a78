// The gateway's short-lived memory of bucket records (pure). Object operations check the caller owns
// the bucket against it instead of reading s3db on every request; every object commit still carries a
// precondition on the bucket record's version, so a stale entry can never commit into a deleted or
// re-created bucket (docs/gateway.md, "Bucket cache").
import type { BucketInfo } from '../types.ts';

export interface CachedBucket {
  info: BucketInfo;
  /** s3db version of the bucket record the entry was read from. */
  version: number;
  /** When it was read (ms). */
  at: number;
}

export const DEFAULT_BUCKET_CACHE_MS = 1000;
const MAX_ENTRIES = 10_000;

export class BucketCache {
  private readonly entries = new Map<string, CachedBucket>();

  constructor(
    /** Entries older than this are not used (0 = no cache). */
    private readonly maxAgeMs: number = DEFAULT_BUCKET_CACHE_MS,
    private readonly maxEntries: number = MAX_ENTRIES,
  ) {}

  get(name: string, now = Date.now()): CachedBucket | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined) return undefined;
    if (now - entry.at >= this.maxAgeMs) {
      this.entries.delete(name);
      return undefined;
    }
    return entry;
  }

  set(name: string, entry: CachedBucket): void {
    if (this.maxAgeMs <= 0) return;
    this.entries.delete(name);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(name, entry);
  }

  forget(name: string): void {
    this.entries.delete(name);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Same bucket incarnation: a bucket deleted and created again (by anyone) is a different one. */
export function sameIncarnation(a: BucketInfo, b: BucketInfo): boolean {
  return a.owner === b.owner && a.created.getTime() === b.created.getTime() && a.region === b.region;
}
