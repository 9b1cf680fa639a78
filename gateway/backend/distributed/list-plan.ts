// ListObjects over the objects table as range scans (pure: the scan is injected). Semantics match the
// filesystem backend's paginateKeys: keys with the prefix in UTF-8 order, keys containing the delimiter
// after the prefix roll up into one common prefix, `after` is exclusive (a common prefix equal to it is
// skipped), at most maxKeys entries, truncated when another entry exists. Inside a common prefix the
// listing never reads key by key: it starts a new scan past `prefix + 0xFF`.
import { commonPrefixOf } from '../../s3/paginate.ts';
import { compareKeys } from '../../s3/key-order.ts';
import { objectKey, objectKeyName, pastPrefix } from '../../../shared/metadata/keys.ts';

export interface ScannedItem {
  key: Uint8Array;
  value: Uint8Array;
}

export interface ScanRequest {
  prefix: Uint8Array;
  startAfter?: Uint8Array;
  limit: number;
}

export interface ScanResult {
  items: readonly ScannedItem[];
  truncated: boolean;
}

export type Scan = (request: ScanRequest) => Promise<ScanResult>;

export interface ListRequest {
  bucket: string;
  prefix: string;
  delimiter: string;
  after: string;
  maxKeys: number;
}

export type ListEntry<T> = { kind: 'key'; key: string; record: T } | { kind: 'prefix'; value: string };

export interface ListPage<T> {
  entries: ListEntry<T>[];
  isTruncated: boolean;
  nextAfter?: string;
  /** Scans issued (for tests: a common prefix costs one scan, not one per key under it). */
  scans: number;
}

const MAX_SCAN = 1000;
/** Scans per listing: maxKeys + 1 entries, each at most one scan, plus slack. */
const scanBudget = (maxKeys: number): number => maxKeys + 16;

export async function listByScans<T>(
  scan: Scan,
  request: ListRequest,
  decodeRecord: (value: Uint8Array) => T,
): Promise<ListPage<T>> {
  const { bucket, prefix, delimiter, after, maxKeys } = request;
  const entries: ListEntry<T>[] = [];
  let scans = 0;
  if (maxKeys <= 0) return { entries, isTruncated: false, scans };
  const scanPrefix = objectKey(bucket, prefix);
  let startAfter: Uint8Array | undefined =
    after !== '' && compareKeys(after, prefix) >= 0 ? objectKey(bucket, after) : undefined;
  const truncated = (): ListPage<T> => {
    const last = entries[entries.length - 1] as ListEntry<T>;
    return { entries, isTruncated: true, nextAfter: last.kind === 'key' ? last.key : last.value, scans };
  };
  const budget = scanBudget(maxKeys);
  while (scans < budget) {
    const page = await scan({
      prefix: scanPrefix,
      ...(startAfter === undefined ? {} : { startAfter }),
      limit: Math.min(MAX_SCAN, maxKeys - entries.length + 1),
    });
    scans++;
    let jumped = false;
    for (const item of page.items) {
      const key = objectKeyName(bucket, item.key);
      const rolled = commonPrefixOf(key, prefix, delimiter);
      if (rolled === undefined) {
        if (entries.length === maxKeys) return truncated();
        entries.push({ kind: 'key', key, record: decodeRecord(item.value) });
        startAfter = item.key;
        continue;
      }
      if (rolled !== after) {
        if (entries.length === maxKeys) return truncated();
        entries.push({ kind: 'prefix', value: rolled });
      }
      startAfter = pastPrefix(bucket, rolled);
      jumped = true;
      break;
    }
    if (!jumped && !page.truncated) return { entries, isTruncated: false, scans };
    if (!jumped && page.items.length === 0) return { entries, isTruncated: false, scans };
  }
  throw new Error(`listing ${bucket} did not finish within ${budget} scans`);
}
