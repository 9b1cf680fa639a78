// Pure ListObjects paging over a sorted key list: prefix, delimiter (common prefixes),
// exclusive start marker and max-keys. Backends that hold keys in order use it directly.
import { compareKeys, endOfPrefix, lowerBound } from './key-order.ts';

export interface PageRequest {
  prefix: string;
  delimiter: string;
  /** Exclusive: keys <= after are skipped, and so is the common prefix equal to `after`. */
  after: string;
  maxKeys: number;
}

export interface PageEntry {
  kind: 'key' | 'prefix';
  value: string;
}

export interface Page {
  entries: PageEntry[];
  isTruncated: boolean;
  /** When truncated: the value of the last entry returned. */
  nextAfter?: string;
}

/** The common prefix `key` rolls up into, or undefined when it is listed as itself. */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}

/** `sortedKeys` must be sorted with compareKeys and free of duplicates. */
export function paginateKeys(sortedKeys: readonly string[], request: PageRequest): Page {
  const { prefix, delimiter, after, maxKeys } = request;
  const entries: PageEntry[] = [];
  if (maxKeys <= 0) return { entries, isTruncated: false };
  const resumeInsidePrefix = after !== '' && compareKeys(after, prefix) >= 0;
  let i = resumeInsidePrefix ? lowerBound(sortedKeys, after) : lowerBound(sortedKeys, prefix, true);
  while (i < sortedKeys.length) {
    const key = sortedKeys[i] as string;
    // Keys with the prefix are contiguous in sorted order: the first one without it ends the scan.
    if (!key.startsWith(prefix)) break;
    const rolled = commonPrefixOf(key, prefix, delimiter);
    if (rolled === undefined) {
      if (entries.length === maxKeys) return truncated(entries);
      entries.push({ kind: 'key', value: key });
      i++;
      continue;
    }
    if (rolled !== after) {
      if (entries.length === maxKeys) return truncated(entries);
      entries.push({ kind: 'prefix', value: rolled });
    }
    i = endOfPrefix(sortedKeys, rolled, i);
  }
  return { entries, isTruncated: false };
}

function truncated(entries: PageEntry[]): Page {
  const last = entries[entries.length - 1] as PageEntry;
  return { entries, isTruncated: true, nextAfter: last.value };
}
