// Request headers → object metadata, and object metadata → response headers (pure).
import { InvalidDigest, S3Error } from '../errors.ts';
import type { ObjectInfo, ObjectMetadata } from '../backend/types.ts';

export type HeaderBag = Record<string, string | string[] | undefined>;

export const DEFAULT_CONTENT_TYPE = 'binary/octet-stream';
/** S3 limits user-defined metadata to 2 KB (names + values, UTF-8). */
export const MAX_USER_METADATA_BYTES = 2048;
const META_PREFIX = 'x-amz-meta-';

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
}

export function metadataFromHeaders(headers: HeaderBag): ObjectMetadata {
  const userMetadata: Record<string, string> = {};
  let metadataBytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined || !name.startsWith(META_PREFIX)) continue;
    const key = name.slice(META_PREFIX.length);
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    userMetadata[key] = value;
    metadataBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (metadataBytes > MAX_USER_METADATA_BYTES)
    throw new S3Error(
      'MetadataTooLarge',
      'Your metadata headers exceed the maximum allowed metadata size.',
      400,
      { details: { MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) } },
    );
  const metadata: ObjectMetadata = {
    contentType: headerValue(headers, 'content-type') ?? DEFAULT_CONTENT_TYPE,
    userMetadata,
  };
  const optional: [keyof ObjectMetadata, string][] = [
    ['contentEncoding', 'content-encoding'],
    ['contentDisposition', 'content-disposition'],
    ['contentLanguage', 'content-language'],
    ['cacheControl', 'cache-control'],
    ['expires', 'expires'],
  ];
  for (const [field, header] of optional) {
    const value = headerValue(headers, header);
    if (value !== undefined) (metadata as unknown as Record<string, string>)[field] = value;
  }
  // aws-chunked is a transfer framing the auth layer removes, not a stored content encoding.
  if (metadata.contentEncoding !== undefined) {
    const rest = metadata.contentEncoding
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '' && part.toLowerCase() !== 'aws-chunked');
    if (rest.length === 0) delete metadata.contentEncoding;
    else metadata.contentEncoding = rest.join(', ');
  }
  return metadata;
}

/** Decodes Content-MD5 (base64 of the 16-byte digest); throws InvalidDigest when malformed. */
export function parseContentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^[A-Za-z0-9+/]{22}==$/.test(trimmed)) throw InvalidDigest();
  return Buffer.from(trimmed, 'base64');
}

export function httpDate(date: Date): string {
  return date.toUTCString();
}

/** Headers GET and HEAD return for an object (without Content-Length / Content-Range). */
export function objectResponseHeaders(info: ObjectInfo): Record<string, string> {
  const headers: Record<string, string> = {
    etag: info.etag,
    'last-modified': httpDate(info.lastModified),
    'content-type': info.contentType,
    'accept-ranges': 'bytes',
  };
  if (info.contentEncoding !== undefined) headers['content-encoding'] = info.contentEncoding;
  if (info.contentDisposition !== undefined) headers['content-disposition'] = info.contentDisposition;
  if (info.contentLanguage !== undefined) headers['content-language'] = info.contentLanguage;
  if (info.cacheControl !== undefined) headers['cache-control'] = info.cacheControl;
  if (info.expires !== undefined) headers.expires = info.expires;
  for (const [name, value] of Object.entries(info.userMetadata)) headers[META_PREFIX + name] = value;
  return headers;
}
