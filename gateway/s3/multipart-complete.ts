// CompleteMultipartUpload's rules (pure): the listed parts must be in ascending order, each must have
// been uploaded with the listed ETag, every part but the last must be at least 5 MiB, and the object's
// ETag is the MD5 of the parts' binary MD5s followed by `-<number of parts>`.
import { createHash } from 'node:crypto';
import { EntityTooLarge, EntityTooSmall, InvalidPart, InvalidPartOrder, MalformedXML } from '../errors.ts';

/** Smallest part S3 accepts for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** Largest part (and largest single PUT). */
export const MAX_PART_SIZE = 5 * 1024 ** 3;
export const MAX_PART_NUMBER = 10_000;
/** Largest object a multipart upload may build. */
export const MAX_MULTIPART_OBJECT_SIZE = 5 * 1024 ** 4;

export interface RequestedPart {
  partNumber: number;
  etag: string;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  /** MD5 hex, unquoted, lower case. */
  md5: string;
}

/** An ETag as a client may send it ("\"abc\"", "abc", W/ never) → lower-case hex without quotes. */
export function normalizeEtag(etag: string): string {
  let value = etag.trim();
  if (value.startsWith('&quot;') && value.endsWith('&quot;')) value = value.slice(6, -6);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value.toLowerCase();
}

/** ETag of a multipart object: hex MD5 of the concatenated binary part MD5s, then `-N`. */
export function multipartEtag(partMd5s: readonly string[]): string {
  const hash = createHash('md5');
  for (const md5 of partMd5s) hash.update(Buffer.from(md5, 'hex'));
  return `${hash.digest('hex')}-${partMd5s.length}`;
}

export interface CompletionPlan<T extends StoredPart> {
  /** The stored parts the object is made of, in order. */
  parts: T[];
  /** Stored parts not listed by the client (their data becomes garbage). */
  unused: T[];
  size: number;
  /** Unquoted multipart ETag. */
  etag: string;
}

/**
 * Checks the client's part list against the stored parts and returns what the object is made of.
 * Throws MalformedXML (empty list), InvalidPartOrder, InvalidPart, EntityTooSmall, EntityTooLarge.
 */
export function planCompletion<T extends StoredPart>(
  requested: readonly RequestedPart[],
  stored: ReadonlyMap<number, T>,
  minPartSize = MIN_PART_SIZE,
): CompletionPlan<T> {
  if (requested.length === 0) throw MalformedXML('the part list is empty');
  if (requested.length > MAX_PART_NUMBER) throw MalformedXML(`more than ${MAX_PART_NUMBER} parts listed`);
  let previous = 0;
  for (const part of requested) {
    if (part.partNumber <= previous) throw InvalidPartOrder();
    previous = part.partNumber;
  }
  const parts: T[] = [];
  for (const part of requested) {
    const found = stored.get(part.partNumber);
    if (found === undefined || found.md5 !== normalizeEtag(part.etag))
      throw InvalidPart(part.partNumber, part.etag);
    parts.push(found);
  }
  let size = 0;
  parts.forEach((part, i) => {
    if (i < parts.length - 1 && part.size < minPartSize)
      throw EntityTooSmall(part.partNumber, part.size, minPartSize);
    size += part.size;
  });
  if (size > MAX_MULTIPART_OBJECT_SIZE) throw EntityTooLarge(MAX_MULTIPART_OBJECT_SIZE);
  const used = new Set(parts.map((p) => p.partNumber));
  const unused = [...stored.values()].filter((p) => !used.has(p.partNumber));
  return { parts, unused, size, etag: multipartEtag(parts.map((p) => p.md5)) };
}

/** Byte range [start, end] of part `partNumber` (1-based) of an object with these part sizes. */
export function partByteRange(
  partSizes: readonly number[],
  partNumber: number,
): { start: number; end: number } | undefined {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > partSizes.length) return undefined;
  let start = 0;
  for (let i = 0; i < partNumber - 1; i++) start += partSizes[i] as number;
  const size = partSizes[partNumber - 1] as number;
  return { start, end: start + size - 1 };
}
