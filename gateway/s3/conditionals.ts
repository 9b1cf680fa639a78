// Conditional request headers for GET/HEAD object with S3's precedence
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html):
//  - If-Match true and If-Unmodified-Since false → 200 (If-Match wins);
//  - If-None-Match false and If-Modified-Since true → 304 (If-None-Match wins).
// Otherwise a failed If-Match / If-Unmodified-Since is 412 and a failed If-None-Match /
// If-Modified-Since is 304 Not Modified.
import { PreconditionFailed, S3Error } from '../errors.ts';

export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** 304 carries the object's validators, as S3 sends them. */
export class NotModified extends S3Error {
  constructor(etag: string, lastModified: Date) {
    super('NotModified', 'Not Modified', 304, {
      headers: { etag, 'last-modified': lastModified.toUTCString() },
    });
  }
}

function bareEtag(tag: string): string {
  let t = tag.trim();
  if (t.startsWith('W/')) t = t.slice(2);
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  return t;
}

/** True when the header's list of entity tags contains the object's (or is `*`). */
export function etagMatches(header: string, objectEtag: string): boolean {
  const wanted = bareEtag(objectEtag);
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || (tag !== '' && bareEtag(tag) === wanted);
  });
}

/** HTTP dates have one-second resolution; invalid dates are ignored like S3 does. */
function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Throws PreconditionFailed (412) or NotModified (304) when the conditions say so. */
export function checkConditions(headers: ConditionalHeaders, etag: string, lastModified: Date): void {
  const modifiedSecond = Math.floor(lastModified.getTime() / 1000);
  if (headers.ifMatch !== undefined) {
    if (!etagMatches(headers.ifMatch, etag)) throw PreconditionFailed('If-Match');
  } else {
    const since = parseHttpDate(headers.ifUnmodifiedSince);
    if (since !== undefined && modifiedSecond > since) throw PreconditionFailed('If-Unmodified-Since');
  }
  if (headers.ifNoneMatch !== undefined) {
    if (etagMatches(headers.ifNoneMatch, etag)) throw new NotModified(etag, lastModified);
  } else {
    const since = parseHttpDate(headers.ifModifiedSince);
    if (since !== undefined && modifiedSecond <= since) throw new NotModified(etag, lastModified);
  }
}

export function hasConditions(headers: ConditionalHeaders): boolean {
  return (
    headers.ifMatch !== undefined ||
    headers.ifNoneMatch !== undefined ||
    headers.ifModifiedSince !== undefined ||
    headers.ifUnmodifiedSince !== undefined
  );
}
