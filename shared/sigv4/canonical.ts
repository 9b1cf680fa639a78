// The pieces of a SigV4 canonical request and string to sign (pure functions, no I/O).
import { createHash } from 'node:crypto';
import { percentDecodeBytes, uriEncode, uriEncodeBytes } from './encoding.ts';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Header map as Node gives it: lower-case names, one string or several values. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface CanonicalUriOptions {
  /**
   * false (S3): the path is decoded and encoded once, segment by segment; no dot-segment normalisation.
   * true (every other AWS service, and our s3db API): the path as sent is normalised ('.', '..', empty
   * segments removed) and encoded once more, as the AWS SDK signer does with `uriEscapePath`.
   */
  doubleEncode?: boolean;
}

/** Canonical URI from the request path as sent on the wire (still percent-encoded, without the query). */
export function canonicalUri(rawPath: string, options: CanonicalUriOptions = {}): string {
  const path = rawPath === '' ? '/' : rawPath;
  if (options.doubleEncode) {
    const segments: string[] = [];
    for (const segment of path.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') segments.pop();
      else segments.push(segment);
    }
    const leading = path.startsWith('/') ? '/' : '';
    const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
    return uriEncode(leading + segments.join('/') + trailing, true);
  }
  return path
    .split('/')
    .map((segment) => uriEncodeBytes(percentDecodeBytes(segment)))
    .join('/');
}

/** One decoded query parameter. */
export interface QueryParam {
  name: string;
  value: string;
}

/** Splits a raw query string (without '?') into decoded parameters, in order. '+' is taken as a space. */
export function parseQuery(rawQuery: string): QueryParam[] {
  const query = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const params: QueryParam[] = [];
  if (query === '') return params;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    params.push({
      name: percentDecodeBytes(rawName, true).toString('utf8'),
      value: percentDecodeBytes(rawValue, true).toString('utf8'),
    });
  }
  return params;
}

/** Canonical query string from a raw query string or from decoded parameters; `exclude` names are left out. */
export function canonicalQuery(
  query: string | readonly QueryParam[],
  exclude: readonly string[] = [],
): string {
  const params = typeof query === 'string' ? parseQuery(query) : query;
  const encoded: Array<[string, string]> = [];
  for (const { name, value } of params) {
    if (exclude.includes(name)) continue;
    encoded.push([uriEncode(name), uriEncode(value)]);
  }
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/** Whitespace that normalisation would change: at either end, two in a row, or any but a plain space. */
const NON_CANONICAL_SPACE = /^\s|\s$|\s\s|[^\S ]/;

function normaliseHeaderValue(value: string): string {
  if (!NON_CANONICAL_SPACE.test(value)) return value;
  return value.trim().replace(/\s+/g, ' ');
}

/** Lower-cased header name → canonical value (trimmed, inner whitespace collapsed, repeats joined with ','). */
export function canonicalHeaderValues(headers: HeaderBag): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    const joined =
      typeof value === 'string' ? normaliseHeaderValue(value) : value.map(normaliseHeaderValue).join(',');
    const previous = out.get(name);
    out.set(name, previous === undefined ? joined : `${previous},${joined}`);
  }
  return out;
}

/** The canonical headers block (each `name:value\n`) for the given signed header names. */
export function canonicalHeadersBlock(
  values: ReadonlyMap<string, string>,
  signedHeaders: readonly string[],
): string {
  let out = '';
  for (const name of signedHeaders) out += `${name}:${values.get(name) ?? ''}\n`;
  return out;
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: string;
  payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method.toUpperCase(),
    parts.canonicalUri,
    parts.canonicalQuery,
    parts.canonicalHeaders,
    parts.signedHeaders,
    parts.payloadHash,
  ].join('\n');
}

export function sha256Hex(data: string | Uint8Array, encoding: 'utf8' | 'latin1' = 'utf8'): string {
  const hash = createHash('sha256');
  if (typeof data === 'string') hash.update(data, encoding);
  else hash.update(data);
  return hash.digest('hex');
}

/** True when every character is ≤ U+00FF, i.e. the string can stand for raw bytes (node's header decoding). */
export function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** `<date>/<region>/<service>/aws4_request` */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

/**
 * `encoding` says how the canonical request becomes bytes: 'utf8' when signing JS strings (as the AWS SDKs
 * do), 'latin1' when verifying header values node:http decoded byte-per-character.
 */
export function stringToSign(
  amzDate: string,
  scope: string,
  canonicalRequestText: string,
  encoding: 'utf8' | 'latin1' = 'utf8',
): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText, encoding)}`;
}
