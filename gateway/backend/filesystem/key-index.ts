// In-memory ordered index of one bucket's objects (pure): the filesystem backend keeps one per
// bucket, built from the metadata files on first use and updated on every commit.
import { lowerBound } from '../../s3/key-order.ts';
import { paginateKeys } from '../../s3/paginate.ts';
import type { ListObjectsResult, ObjectInfo } from '../types.ts';

export class KeyIndex {
  private readonly sorted: string[] = [];
  private readonly byKey = new Map<string, ObjectInfo>();

  get size(): number {
    return this.sorted.length;
  }

  get(key: string): ObjectInfo | undefined {
    return this.byKey.get(key);
  }

  /** Inserts or replaces; returns the entry it replaced. */
  set(info: ObjectInfo): ObjectInfo | undefined {
    const previous = this.byKey.get(info.key);
    this.byKey.set(info.key, info);
    if (previous === undefined) this.sorted.splice(lowerBound(this.sorted, info.key, true), 0, info.key);
    return previous;
  }

  delete(key: string): ObjectInfo | undefined {
    const previous = this.byKey.get(key);
    if (previous === undefined) return undefined;
    this.byKey.delete(key);
    const at = lowerBound(this.sorted, key, true);
    if (this.sorted[at] === key) this.sorted.splice(at, 1);
    return previous;
  }

  list(prefix: string, delimiter: string, after: string, maxKeys: number): ListObjectsResult {
    const page = paginateKeys(this.sorted, { prefix, delimiter, after, maxKeys });
    const result: ListObjectsResult = { contents: [], commonPrefixes: [], isTruncated: page.isTruncated };
    for (const entry of page.entries) {
      if (entry.kind === 'prefix') result.commonPrefixes.push(entry.value);
      else result.contents.push(this.byKey.get(entry.value) as ObjectInfo);
    }
    if (page.nextAfter !== undefined) result.nextAfter = page.nextAfter;
    return result;
  }

  /** Keys in order (for tests and consistency checks). */
  keys(): readonly string[] {
    return this.sorted;
  }
}
