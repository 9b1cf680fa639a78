// Client-side SigV4 signing (Authorization header and presigned query), e.g. for the s3db client.
import {
  ALGORITHM,
  EMPTY_SHA256,
  UNSIGNED_PAYLOAD,
  canonicalHeaderValues,
  canonicalHeadersBlock,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  parseQuery,
  stringToSign,
  type QueryParam,
} from './canonical.ts';
import { formatAmzDate } from './dates.ts';
import { signString, signingKey } from './keys.ts';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type QueryInput =
  string | readonly QueryParam[] | Readonly<Record<string, string | readonly string[]>>;

export interface SignRequestInput {
  method: string;
  /** Path exactly as it will be sent (percent-encoded), without the query. */
  path: string;
  /** Raw query string (no '?'), decoded parameters, or a name → value(s) record. */
  query?: QueryInput;
  /** Headers that will be sent; must include `host`. Names in any case. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD / STREAMING-…; default: SHA-256 of the empty body. */
  payloadHash?: string;
  credentials: Credentials;
  region: string;
  service: string;
  date?: Date;
  /** Default: true for every service except `s3` (AWS rule). */
  doubleEncodePath?: boolean;
}

export interface SignedRequest {
  /** Headers to add to the request: authorization, x-amz-date, x-amz-content-sha256 (+ x-amz-security-token). */
  headers: Record<string, string>;
  signature: string;
  amzDate: string;
  credentialScope: string;
  signingKey: Buffer;
}

/** Headers a signer never signs: proxies and the transport may change them. */
const UNSIGNABLE = new Set([
  'authorization',
  'connection',
  'expect',
  'keep-alive',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);

export function toQueryParams(query: QueryInput | undefined): readonly QueryParam[] | string {
  if (query === undefined) return '';
  if (typeof query === 'string' || Array.isArray(query)) return query as string | readonly QueryParam[];
  const params: QueryParam[] = [];
  for (const [name, value] of Object.entries(query as Record<string, string | readonly string[]>)) {
    if (typeof value === 'string') params.push({ name, value });
    else for (const v of value) params.push({ name, value: v });
  }
  return params;
}

function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** Signs a request with the Authorization header; returns the headers to add. */
export function signRequest(input: SignRequestInput): SignedRequest {
  const headers = lowerCaseHeaders(input.headers);
  if (!headers.host) throw new TypeError('signRequest: headers.host is required');
  const amzDate = formatAmzDate(input.date ?? new Date());
  const payloadHash = input.payloadHash ?? EMPTY_SHA256;
  const added: Record<string, string> = { 'x-amz-date': amzDate, 'x-amz-content-sha256': payloadHash };
  if (input.credentials.sessionToken) added['x-amz-security-token'] = input.credentials.sessionToken;
  const all = { ...headers, ...added };
  const signedNames = Object.keys(all)
    .filter((name) => !UNSIGNABLE.has(name) && !name.startsWith('proxy-'))
    .sort();
  const scope = credentialScope(amzDate.slice(0, 8), input.region, input.service);
  const canonical = canonicalRequest({
    method: input.method,
    canonicalUri: canonicalUri(input.path, {
      doubleEncode: input.doubleEncodePath ?? input.service !== 's3',
    }),
    canonicalQuery: canonicalQuery(toQueryParams(input.query)),
    canonicalHeaders: canonicalHeadersBlock(canonicalHeaderValues(all), signedNames),
    signedHeaders: signedNames.join(';'),
    payloadHash,
  });
  const key = signingKey(input.credentials.secretAccessKey, amzDate.slice(0, 8), input.region, input.service);
  const signature = signString(key, stringToSign(amzDate, scope, canonical));
  added.authorization =
    `${ALGORITHM} Credential=${input.credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedNames.join(';')}, Signature=${signature}`;
  return { headers: added, signature, amzDate, credentialScope: scope, signingKey: key };
}

export interface PresignInput extends Omit<SignRequestInput, 'payloadHash'> {
  /** Seconds the URL stays valid, 1..604800. */
  expiresIn: number;
}

/** Presigns a request; returns the full query string (without '?') to send, including X-Amz-Signature. */
export function presignRequest(input: PresignInput): string {
  if (!Number.isInteger(input.expiresIn) || input.expiresIn < 1 || input.expiresIn > 604800) {
    throw new RangeError('presignRequest: expiresIn must be an integer between 1 and 604800 seconds');
  }
  const headers = lowerCaseHeaders(input.headers);
  if (!headers.host) throw new TypeError('presignRequest: headers.host is required');
  const amzDate = formatAmzDate(input.date ?? new Date());
  const scope = credentialScope(amzDate.slice(0, 8), input.region, input.service);
  const signedNames = Object.keys(headers)
    .filter((name) => !UNSIGNABLE.has(name) && !name.startsWith('proxy-'))
    .sort();
  const base = toQueryParams(input.query);
  const params: QueryParam[] = [
    ...(typeof base === 'string' ? parseQuery(base) : base),
    { name: 'X-Amz-Algorithm', value: ALGORITHM },
    { name: 'X-Amz-Credential', value: `${input.credentials.accessKeyId}/${scope}` },
    { name: 'X-Amz-Date', value: amzDate },
    { name: 'X-Amz-Expires', value: String(input.expiresIn) },
    { name: 'X-Amz-SignedHeaders', value: signedNames.join(';') },
  ];
  if (input.credentials.sessionToken)
    params.push({ name: 'X-Amz-Security-Token', value: input.credentials.sessionToken });
  const query = canonicalQuery(params);
  const canonical = canonicalRequest({
    method: input.method,
    canonicalUri: canonicalUri(input.path, {
      doubleEncode: input.doubleEncodePath ?? input.service !== 's3',
    }),
    canonicalQuery: query,
    canonicalHeaders: canonicalHeadersBlock(canonicalHeaderValues(headers), signedNames),
    signedHeaders: signedNames.join(';'),
    payloadHash: UNSIGNED_PAYLOAD,
  });
  const key = signingKey(input.credentials.secretAccessKey, amzDate.slice(0, 8), input.region, input.service);
  const signature = signString(key, stringToSign(amzDate, scope, canonical));
  return `${query}&X-Amz-Signature=${signature}`;
}
