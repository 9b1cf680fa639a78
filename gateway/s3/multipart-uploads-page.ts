// ListMultipartUploads paging (pure; the ordered source is injected). Uploads are ordered by key
// (UTF-8 order), then by upload id (our ids sort by initiation time). Semantics as S3 documents:
// without upload-id-marker only keys after key-marker are listed; with it, uploads of key-marker with
// a larger upload id too; keys containing the delimiter after the prefix roll up into common prefixes.
import { compareKeys } from './key-order.ts';
import { commonPrefixOf } from './paginate.ts';

export interface UploadEntry {
  key: string;
  uploadId: string;
}

/** Where the next read of the ordered uploads starts (exclusive). */
export type UploadSeek =
  | { kind: 'start' }
  /** After this upload of this key. */
  | { kind: 'after'; key: string; uploadId: string }
  /** After every upload of this key. */
  | { kind: 'pastKey'; key: string }
  /** After every key starting with this prefix. */
  | { kind: 'pastPrefix'; prefix: string };

/** Uploads with keys starting with `prefix`, in order, from `seek` on. Read lazily; may be left early. */
export type UploadSource<T extends UploadEntry> = (seek: UploadSeek, prefix: string) => AsyncIterable<T>;

export interface UploadsPageRequest {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
}

export interface UploadsPage<T extends UploadEntry> {
  uploads: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** At most this many re-seeks (one per common prefix) per page, so a page always ends. */
const MAX_SEEKS = 1100;

export async function pageUploads<T extends UploadEntry>(
  source: UploadSource<T>,
  request: UploadsPageRequest,
): Promise<UploadsPage<T>> {
  const { prefix, delimiter, keyMarker, uploadIdMarker, maxUploads } = request;
  const page: UploadsPage<T> = { uploads: [], commonPrefixes: [], isTruncated: false };
  if (maxUploads <= 0) return page;
  let seek: UploadSeek =
    keyMarker === '' || compareKeys(keyMarker, prefix) < 0
      ? { kind: 'start' }
      : uploadIdMarker !== ''
        ? { kind: 'after', key: keyMarker, uploadId: uploadIdMarker }
        : { kind: 'pastKey', key: keyMarker };
  let last: { key: string; uploadId?: string } | undefined;
  const count = (): number => page.uploads.length + page.commonPrefixes.length;
  const truncate = (): UploadsPage<T> => {
    page.isTruncated = true;
    if (last !== undefined) {
      page.nextKeyMarker = last.key;
      if (last.uploadId !== undefined) page.nextUploadIdMarker = last.uploadId;
    }
    return page;
  };
  for (let seeks = 0; seeks < MAX_SEEKS; seeks++) {
    let jumped = false;
    for await (const entry of source(seek, prefix)) {
      if (!entry.key.startsWith(prefix)) continue;
      const rolled = commonPrefixOf(entry.key, prefix, delimiter);
      if (rolled === undefined) {
        if (count() === maxUploads) return truncate();
        page.uploads.push(entry);
        last = { key: entry.key, uploadId: entry.uploadId };
        continue;
      }
      if (rolled !== keyMarker) {
        if (count() === maxUploads) return truncate();
        page.commonPrefixes.push(rolled);
        last = { key: rolled };
      }
      seek = { kind: 'pastPrefix', prefix: rolled };
      jumped = true;
      break;
    }
    if (!jumped) return page;
  }
  throw new Error('ListMultipartUploads did not finish within its seek budget');
}

/** An in-memory ordered source (the filesystem backend; tests). `sorted` in (key, uploadId) order. */
export function arraySource<T extends UploadEntry>(sorted: readonly T[]): UploadSource<T> {
  return (seek) =>
    (async function* () {
      for (const entry of sorted) {
        if (!isAfter(entry, seek)) continue;
        yield entry;
      }
    })();
}

export function compareUploads(a: UploadEntry, b: UploadEntry): number {
  return compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0);
}

function isAfter(entry: UploadEntry, seek: UploadSeek): boolean {
  switch (seek.kind) {
    case 'start':
      return true;
    case 'after':
      return compareUploads(entry, { key: seek.key, uploadId: seek.uploadId }) > 0;
    case 'pastKey':
      return compareKeys(entry.key, seek.key) > 0;
    case 'pastPrefix':
      return !entry.key.startsWith(seek.prefix) && compareKeys(entry.key, seek.prefix) > 0;
  }
}
