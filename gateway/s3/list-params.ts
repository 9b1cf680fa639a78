// ListObjects (V2 and V1) query parameters → typed request (pure), and the url encoding-type.
import { InvalidArgument } from '../errors.ts';

export type Query = Record<string, string | undefined>;

export interface ListV2Params {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  startAfter: string;
  continuationToken?: string;
  /** Decoded from the continuation token (wins over start-after). */
  after: string;
  fetchOwner: boolean;
  encodeUrl: boolean;
}

export interface ListV1Params {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  marker: string;
  encodeUrl: boolean;
}

export const MAX_LIST_KEYS = 1000;

export function parseMaxKeys(value: string | undefined): number {
  if (value === undefined || value === '') return MAX_LIST_KEYS;
  if (!/^\d+$/.test(value))
    throw InvalidArgument('Provided max-keys not an integer or within integer range', 'max-keys', value);
  return Math.min(Number(value), MAX_LIST_KEYS);
}

function parseEncodingType(value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (value.toLowerCase() === 'url') return true;
  throw InvalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', value);
}

const TOKEN_PREFIX = 'v1:';

/** Continuation tokens are opaque to clients: base64url of a versioned marker. */
export function encodeContinuationToken(after: string): string {
  return Buffer.from(TOKEN_PREFIX + after, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  const text = /^[A-Za-z0-9_-]*$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith(TOKEN_PREFIX))
    throw InvalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
  return text.slice(TOKEN_PREFIX.length);
}

export function parseListV2Params(query: Query): ListV2Params {
  const continuationToken = query['continuation-token'];
  const startAfter = query['start-after'] ?? '';
  const params: ListV2Params = {
    prefix: query.prefix ?? '',
    delimiter: query.delimiter ?? '',
    maxKeys: parseMaxKeys(query['max-keys']),
    startAfter,
    after: startAfter,
    fetchOwner: query['fetch-owner'] === 'true',
    encodeUrl: parseEncodingType(query['encoding-type']),
  };
  if (continuationToken !== undefined) {
    if (continuationToken === '')
      throw InvalidArgument('The continuation token provided is incorrect', 'continuation-token', '');
    params.continuationToken = continuationToken;
    params.after = decodeContinuationToken(continuationToken);
  }
  return params;
}

export function parseListV1Params(query: Query): ListV1Params {
  return {
    prefix: query.prefix ?? '',
    delimiter: query.delimiter ?? '',
    maxKeys: parseMaxKeys(query['max-keys']),
    marker: query.marker ?? '',
    encodeUrl: parseEncodingType(query['encoding-type']),
  };
}

/** encoding-type=url: percent-encode everything except unreserved characters and '/'. */
export function s3UrlEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, '/');
}
