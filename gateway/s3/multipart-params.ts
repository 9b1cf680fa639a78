// Query and header parameters of multipart upload and copy (pure): part numbers, ListParts and
// ListMultipartUploads paging, x-amz-copy-source (+ range, conditions, metadata directive).
import { InvalidArgument, InvalidRequest, PreconditionFailed } from '../errors.ts';
import type { ObjectInfo } from '../backend/types.ts';
import { NotModified, checkConditions } from './conditionals.ts';
import type { ConditionalHeaders } from './conditionals.ts';
import { headerValue } from './headers.ts';
import type { HeaderBag } from './headers.ts';
import type { Query } from './list-params.ts';
import { MAX_PART_NUMBER } from './multipart-complete.ts';

const MAX_LIST = 1000;

export function parsePartNumber(value: string | undefined): number {
  if (value === undefined || !/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PART_NUMBER)
    throw InvalidArgument(
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      'partNumber',
      value ?? '',
    );
  return Number(value);
}

function parseCount(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,10}$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw InvalidArgument(`Provided ${name} not an integer or within integer range`, name, value);
  return Math.min(MAX_LIST, Number(value));
}

export interface ListPartsParams {
  partNumberMarker: number;
  maxParts: number;
}

export function parseListPartsParams(query: Query): ListPartsParams {
  const marker = query['part-number-marker'];
  let partNumberMarker = 0;
  if (marker !== undefined && marker !== '') {
    if (!/^\d{1,10}$/.test(marker))
      throw InvalidArgument(
        'Provided part-number-marker not an integer or within integer range',
        'part-number-marker',
        marker,
      );
    partNumberMarker = Number(marker);
  }
  return { partNumberMarker, maxParts: parseCount(query['max-parts'], 'max-parts', MAX_LIST) };
}

export interface ListUploadsParams {
  prefix: string;
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
  encodeUrl: boolean;
}

export function parseListUploadsParams(query: Query): ListUploadsParams {
  const encoding = query['encoding-type'];
  if (encoding !== undefined && encoding !== 'url')
    throw InvalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encoding);
  const keyMarker = query['key-marker'] ?? '';
  return {
    prefix: query.prefix ?? '',
    delimiter: query.delimiter ?? '',
    keyMarker,
    // S3 ignores upload-id-marker without key-marker.
    uploadIdMarker: keyMarker === '' ? '' : (query['upload-id-marker'] ?? ''),
    maxUploads: parseCount(query['max-uploads'], 'max-uploads', MAX_LIST),
    encodeUrl: encoding === 'url',
  };
}

export interface CopySource {
  bucket: string;
  key: string;
}

/**
 * x-amz-copy-source: `bucket/key` or `/bucket/key`, URL-encoded, optionally `?versionId=…`. Only the
 * version id `null` names something here (objects have no other addressable versions).
 */
export function parseCopySource(value: string): CopySource {
  const raw = value.trim();
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (q >= 0) {
    const params = new URLSearchParams(raw.slice(q + 1));
    for (const name of params.keys())
      if (name !== 'versionId')
        throw InvalidArgument('Unsupported parameter in x-amz-copy-source', 'x-amz-copy-source', value);
    const versionId = params.get('versionId');
    if (versionId !== null && versionId !== 'null')
      throw InvalidArgument('Invalid version id specified', 'x-amz-copy-source', value);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    throw InvalidArgument('Invalid copy source encoding', 'x-amz-copy-source', value);
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1)
    throw InvalidArgument(
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      'x-amz-copy-source',
      value,
    );
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

/** x-amz-copy-source-range `bytes=first-last` against the source size (inclusive range). */
export function parseCopySourceRange(value: string, size: number): { start: number; end: number } {
  const match = /^bytes=(\d{1,16})-(\d{1,16})$/.exec(value.trim());
  if (match === null)
    throw InvalidArgument(
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      'x-amz-copy-source-range',
      value,
    );
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end || end >= size)
    throw InvalidArgument(
      `Range specified is not valid for source object of size: ${size}`,
      'x-amz-copy-source-range',
      value,
    );
  return { start, end };
}

export function copySourceConditions(headers: HeaderBag): ConditionalHeaders {
  const result: ConditionalHeaders = {};
  const pairs: [keyof ConditionalHeaders, string][] = [
    ['ifMatch', 'x-amz-copy-source-if-match'],
    ['ifNoneMatch', 'x-amz-copy-source-if-none-match'],
    ['ifModifiedSince', 'x-amz-copy-source-if-modified-since'],
    ['ifUnmodifiedSince', 'x-amz-copy-source-if-unmodified-since'],
  ];
  for (const [field, header] of pairs) {
    const value = headerValue(headers, header);
    if (value !== undefined) result[field] = value;
  }
  return result;
}

/** The copy-source conditions with GET's precedence; every failure is 412 (a copy has no 304). */
export function checkCopySourceConditions(conditions: ConditionalHeaders, source: ObjectInfo): void {
  try {
    checkConditions(conditions, source.etag, source.lastModified);
  } catch (error) {
    if (error instanceof NotModified)
      throw PreconditionFailed(
        conditions.ifNoneMatch !== undefined
          ? 'x-amz-copy-source-If-None-Match'
          : 'x-amz-copy-source-If-Modified-Since',
      );
    throw error;
  }
}

export type MetadataDirective = 'COPY' | 'REPLACE';

export function parseMetadataDirective(value: string | undefined): MetadataDirective {
  if (value === undefined) return 'COPY';
  if (value === 'COPY' || value === 'REPLACE') return value;
  throw InvalidArgument('Unknown metadata directive.', 'x-amz-metadata-directive', value);
}

export const copyOntoItself = (): ReturnType<typeof InvalidRequest> =>
  InvalidRequest(
    "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
  );
