// Server-side SigV4 verification: Authorization header and presigned query, independent of any HTTP framework.
import {
  ALGORITHM,
  UNSIGNED_PAYLOAD,
  canonicalHeaderValues,
  canonicalHeadersBlock,
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  isLatin1,
  parseQuery,
  stringToSign,
  type HeaderBag,
  type QueryParam,
} from './canonical.ts';
import { formatAmzDate, parseAmzDate, parseHttpDate, toEpochMs } from './dates.ts';
import { S3AuthError } from './errors.ts';
import { signString, signaturesEqual, signingKey } from './keys.ts';

/** The parts of an HTTP request verification needs; build it from Fastify, Lambda or node:http alike. */
export interface RequestLike {
  method: string;
  /** Path as sent on the wire, still percent-encoded, without the query. */
  rawPath: string;
  /** Raw query string as sent, without '?' ('' when none). */
  query: string;
  /** Lower-case header names; repeated headers as arrays (node's `headersDistinct` is ideal). */
  headers: HeaderBag;
}

/** Returns the secret access key of an access key id, or undefined when the key is unknown. */
export type SecretLookup = (accessKeyId: string) => string | undefined;

export interface VerifyOptions {
  /** Current time (default: Date.now()). */
  now?: Date | number;
  /** Host the client signed, when a proxy (Lambda function URL, ALB) rewrote the Host header. */
  signedHostOverride?: string;
  /** Signing service name expected in the credential scope (default 's3'). */
  service?: string;
  /** Regions accepted in the credential scope; undefined accepts any. */
  regions?: readonly string[];
  /** Canonical URI double-encoding (default: true unless service is 's3'). */
  doubleEncodePath?: boolean;
  /** Allowed clock skew for header auth and not-yet-valid presigned URLs (default 15 minutes). */
  maxSkewMs?: number;
}

export type PayloadMode =
  'sha256' | 'unsigned' | 'streaming-signed' | 'streaming-signed-trailer' | 'streaming-unsigned-trailer';

/** A request whose signature checked out. */
export interface VerifiedRequest {
  kind: 'header' | 'presigned';
  accessKeyId: string;
  region: string;
  service: string;
  /** x-amz-date form of the signing time, e.g. 20130524T000000Z. */
  amzDate: string;
  requestTime: Date;
  credentialScope: string;
  signedHeaders: readonly string[];
  /** The request signature (the seed signature of an aws-chunked body). */
  signature: string;
  signingKey: Buffer;
  /** The payload hash that was signed: a hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-…. */
  payloadHash: string;
  payloadMode: PayloadMode;
  /** Presigned URLs only: when the URL stops being valid. */
  expiresAt?: Date;
}

export const MAX_SKEW_MS = 15 * 60 * 1000;
export const MAX_PRESIGN_EXPIRES_SECONDS = 604800;

const PAYLOAD_MODES: Readonly<Record<string, PayloadMode>> = {
  'UNSIGNED-PAYLOAD': 'unsigned',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
};
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Headers that may arrive unsigned even though they start with x-amz- (added by CloudFront, or self-verifying). */
const UNSIGNED_AMZ_ALLOWED = new Set(['x-amz-content-sha256', 'x-amz-cf-id']);

/** Classifies an x-amz-content-sha256 value; throws for values S3 rejects. */
export function payloadModeOf(value: string): PayloadMode {
  const mode = PAYLOAD_MODES[value];
  if (mode) return mode;
  if (HEX_SHA256.test(value)) return 'sha256';
  if (value.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw new S3AuthError('NotImplemented', 'SigV4a (ECDSA) streaming signatures are not supported.');
  }
  throw new S3AuthError(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, ' +
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
    { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value },
  );
}

interface ParsedCredential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(text: string, fail: (why: string) => S3AuthError): ParsedCredential {
  const parts = text.split('/');
  if (parts.length < 5)
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  const [date, region, service, terminator] = parts.slice(-4) as [string, string, string, string];
  const accessKeyId = parts.slice(0, -4).join('/');
  if (accessKeyId === '' || !/^\d{8}$/.test(date) || region === '' || service === '') {
    throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  if (terminator !== 'aws4_request')
    throw fail(`incorrect terminal "${terminator}". This endpoint uses "aws4_request".`);
  return { accessKeyId, date, region, service };
}

function checkScope(
  cred: ParsedCredential,
  options: VerifyOptions,
  fail: (why: string) => S3AuthError,
): void {
  const service = options.service ?? 's3';
  if (cred.service !== service)
    throw fail(`incorrect service "${cred.service}". This endpoint belongs to "${service}".`);
  if (options.regions && !options.regions.includes(cred.region)) {
    const err = fail(`the region '${cred.region}' is wrong; expecting '${options.regions[0] ?? ''}'`);
    throw new S3AuthError(err.code, err.message, { Region: options.regions[0] ?? '' });
  }
}

function lookupSecret(lookup: SecretLookup, accessKeyId: string): string {
  const secret = lookup(accessKeyId);
  if (secret === undefined) {
    throw new S3AuthError(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      {
        AWSAccessKeyId: accessKeyId,
      },
    );
  }
  return secret;
}

function checkSignedHeaders(
  signedHeaders: readonly string[],
  values: ReadonlyMap<string, string>,
  fail: (why: string) => S3AuthError,
): void {
  if (signedHeaders.length === 0 || signedHeaders.some((h) => h === '' || h !== h.toLowerCase())) {
    throw fail('the SignedHeaders list is malformed.');
  }
  if (!signedHeaders.includes('host')) throw fail('the SignedHeaders must include host.');
  const signed = new Set(signedHeaders);
  const unsigned = [...values.keys()].filter(
    (name) => name.startsWith('x-amz-') && !signed.has(name) && !UNSIGNED_AMZ_ALLOWED.has(name),
  );
  if (unsigned.length > 0) {
    throw new S3AuthError('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.sort().join(', '),
    });
  }
}

interface SignatureCheck {
  req: RequestLike;
  params: readonly QueryParam[];
  values: Map<string, string>;
  signedHeaders: readonly string[];
  payloadHash: string;
  amzDate: string;
  cred: ParsedCredential;
  secret: string;
  provided: string;
  options: VerifyOptions;
  excludeQuery: readonly string[];
}

function checkSignature(c: SignatureCheck): { signature: string; key: Buffer; scope: string } {
  if (c.options.signedHostOverride !== undefined) c.values.set('host', c.options.signedHostOverride.trim());
  const scope = credentialScope(c.cred.date, c.cred.region, c.cred.service);
  const canonical = canonicalRequest({
    method: c.req.method,
    canonicalUri: canonicalUri(c.req.rawPath, {
      doubleEncode: c.options.doubleEncodePath ?? (c.options.service ?? 's3') !== 's3',
    }),
    canonicalQuery: canonicalQuery(c.params, c.excludeQuery),
    canonicalHeaders: canonicalHeadersBlock(c.values, c.signedHeaders),
    signedHeaders: c.signedHeaders.join(';'),
    payloadHash: c.payloadHash,
  });
  // Header values arrive from node:http one character per byte; hashing them as latin1 gives back the bytes
  // the client signed (UTF-8 metadata included). Strings that cannot be bytes are hashed as UTF-8.
  const toSign = stringToSign(c.amzDate, scope, canonical, isLatin1(canonical) ? 'latin1' : 'utf8');
  const key = signingKey(c.secret, c.cred.date, c.cred.region, c.cred.service);
  const expected = signString(key, toSign);
  if (!signaturesEqual(expected, c.provided)) {
    throw new S3AuthError(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        AWSAccessKeyId: c.cred.accessKeyId,
        StringToSign: toSign,
        SignatureProvided: c.provided,
        CanonicalRequest: canonical,
      },
    );
  }
  return { signature: expected, key, scope };
}

/** The error of a malformed Authorization header (a module function: no closure per request). */
function malformed(why: string): S3AuthError {
  return new S3AuthError('AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
}

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function parseAuthorizationHeader(value: string): {
  credential: string;
  signedHeaders: string[];
  signature: string;
} {
  const trimmed = value.trim();
  if (!trimmed.startsWith(`${ALGORITHM} `)) {
    if (trimmed.startsWith('AWS ') || trimmed.startsWith('AWS4-ECDSA-P256-SHA256')) {
      throw new S3AuthError(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    }
    throw new S3AuthError('InvalidArgument', 'Unsupported Authorization Type', {
      ArgumentName: 'Authorization',
    });
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw malformed(`the field "${item}" is not of the form key=value.`);
    const name = item.slice(0, eq).trim();
    if (fields.has(name)) throw malformed(`the field ${name} appears twice.`);
    fields.set(name, item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined) throw malformed('missing Credential.');
  if (signedHeaders === undefined) throw malformed('missing SignedHeaders.');
  if (signature === undefined) throw malformed('missing Signature.');
  return { credential, signedHeaders: signedHeaders.split(';'), signature };
}

function requestDateFromHeaders(values: ReadonlyMap<string, string>): { amzDate: string; time: Date } {
  const amz = values.get('x-amz-date');
  if (amz !== undefined) {
    const time = parseAmzDate(amz);
    if (time) return { amzDate: amz, time };
  } else {
    const http = values.get('date');
    const time = http === undefined ? undefined : parseHttpDate(http);
    if (time) return { amzDate: formatAmzDate(time), time };
  }
  throw new S3AuthError('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
}

/** Verifies a request signed with the Authorization header. */
export function verifyHeaderAuth(
  req: RequestLike,
  lookup: SecretLookup,
  options: VerifyOptions = {},
): VerifiedRequest {
  const values = canonicalHeaderValues(req.headers);
  const authorization = values.get('authorization');
  if (authorization === undefined) throw new S3AuthError('AccessDenied', 'Missing Authorization header.');
  const auth = parseAuthorizationHeader(authorization);
  const cred = parseCredential(auth.credential, malformed);
  checkScope(cred, options, malformed);
  const secret = lookupSecret(lookup, cred.accessKeyId);
  checkSignedHeaders(auth.signedHeaders, values, malformed);

  const { amzDate, time } = requestDateFromHeaders(values);
  if (amzDate.slice(0, 8) !== cred.date) {
    throw malformed(
      `Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const now = toEpochMs(options.now);
  const maxSkew = options.maxSkewMs ?? MAX_SKEW_MS;
  if (Math.abs(now - time.getTime()) > maxSkew) {
    throw new S3AuthError(
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: amzDate,
        ServerTime: new Date(now).toISOString(),
        MaxAllowedSkewMilliseconds: String(maxSkew),
      },
    );
  }

  const payloadHash = values.get('x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw new S3AuthError(
      'MissingSecurityHeader',
      'Your request was missing a required header: x-amz-content-sha256.',
      {
        MissingHeaderName: 'x-amz-content-sha256',
      },
    );
  }
  const payloadMode = payloadModeOf(payloadHash);

  const params = parseQuery(req.query);
  const { signature, key, scope } = checkSignature({
    req,
    params,
    values,
    signedHeaders: auth.signedHeaders,
    payloadHash,
    amzDate,
    cred,
    secret,
    provided: auth.signature,
    options,
    excludeQuery: [],
  });
  return {
    kind: 'header',
    accessKeyId: cred.accessKeyId,
    region: cred.region,
    service: cred.service,
    amzDate,
    requestTime: time,
    credentialScope: scope,
    signedHeaders: auth.signedHeaders,
    signature,
    signingKey: key,
    payloadHash,
    payloadMode,
  };
}

const PRESIGN_REQUIRED = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Signature',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Expires',
] as const;

/** Verifies a presigned (query-string) request. */
export function verifyPresignedQuery(
  req: RequestLike,
  lookup: SecretLookup,
  options: VerifyOptions = {},
): VerifiedRequest {
  const queryError = (why: string): S3AuthError => new S3AuthError('AuthorizationQueryParametersError', why);
  const params = parseQuery(req.query);
  const found = new Map<string, string>();
  for (const { name, value } of params) {
    if (!(PRESIGN_REQUIRED as readonly string[]).includes(name)) continue;
    if (found.has(name)) throw queryError(`The query parameter ${name} appears more than once.`);
    found.set(name, value);
  }
  const [algorithm, credential, provided, amzDate, signedHeaderList, expiresText] = PRESIGN_REQUIRED.map(
    (n) => found.get(n),
  );
  if (
    algorithm === undefined ||
    credential === undefined ||
    provided === undefined ||
    amzDate === undefined ||
    signedHeaderList === undefined ||
    expiresText === undefined
  ) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, ' +
        'X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== ALGORITHM) throw queryError(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  if (!/^\d{1,7}$/.test(expiresText)) throw queryError('X-Amz-Expires should be a number');
  const expires = Number(expiresText);
  if (expires < 1) throw queryError('X-Amz-Expires must be at least 1 second');
  if (expires > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw queryError('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  const malformed = (why: string): S3AuthError =>
    new S3AuthError(
      'AuthorizationQueryParametersError',
      `Error parsing the X-Amz-Credential parameter; ${why}`,
    );
  const cred = parseCredential(credential, malformed);
  checkScope(cred, options, malformed);
  const time = parseAmzDate(amzDate);
  if (!time) throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (amzDate.slice(0, 8) !== cred.date) {
    throw malformed(
      `Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  const secret = lookupSecret(lookup, cred.accessKeyId);
  const values = canonicalHeaderValues(req.headers);
  const signedHeaders = signedHeaderList.split(';');
  checkSignedHeaders(signedHeaders, values, (why) => queryError(`X-Amz-SignedHeaders: ${why}`));

  const now = toEpochMs(options.now);
  const maxSkew = options.maxSkewMs ?? MAX_SKEW_MS;
  if (time.getTime() - now > maxSkew) throw new S3AuthError('AccessDenied', 'Request is not valid yet');
  const expiresAt = new Date(time.getTime() + expires * 1000);
  if (now > expiresAt.getTime()) {
    throw new S3AuthError('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expiresText,
      Expires: expiresAt.toISOString(),
      ServerTime: new Date(now).toISOString(),
    });
  }

  const payloadParam = params.find((p) => p.name.toLowerCase() === 'x-amz-content-sha256');
  const payloadHash = payloadParam?.value ?? UNSIGNED_PAYLOAD;
  const payloadMode = payloadModeOf(payloadHash);
  if (payloadMode !== 'unsigned' && payloadMode !== 'sha256') {
    throw queryError('Presigned requests cannot use a STREAMING payload.');
  }
  const { signature, key, scope } = checkSignature({
    req,
    params,
    values,
    signedHeaders,
    payloadHash,
    amzDate,
    cred,
    secret,
    provided,
    options,
    excludeQuery: ['X-Amz-Signature'],
  });
  return {
    kind: 'presigned',
    accessKeyId: cred.accessKeyId,
    region: cred.region,
    service: cred.service,
    amzDate,
    requestTime: time,
    credentialScope: scope,
    signedHeaders,
    signature,
    signingKey: key,
    payloadHash,
    payloadMode,
    expiresAt,
  };
}

/** How a request carries its credentials. */
export function authKindOf(req: RequestLike): 'header' | 'presigned' | 'anonymous' | 'unsupported' {
  const hasHeader = req.headers.authorization !== undefined;
  const names = new Set(parseQuery(req.query).map((p) => p.name));
  const hasQuery =
    names.has('X-Amz-Algorithm') || names.has('X-Amz-Credential') || names.has('X-Amz-Signature');
  if (hasHeader && hasQuery) return 'unsupported';
  if (hasHeader) return 'header';
  if (hasQuery) return 'presigned';
  if (names.has('AWSAccessKeyId') && names.has('Signature')) return 'unsupported';
  return 'anonymous';
}

/** Verifies whichever SigV4 form the request uses; anonymous requests are refused with AccessDenied. */
export function verifyRequest(
  req: RequestLike,
  lookup: SecretLookup,
  options: VerifyOptions = {},
): VerifiedRequest {
  switch (authKindOf(req)) {
    case 'header':
      return verifyHeaderAuth(req, lookup, options);
    case 'presigned':
      return verifyPresignedQuery(req, lookup, options);
    case 'unsupported':
      if (req.headers.authorization !== undefined) {
        throw new S3AuthError(
          'InvalidArgument',
          'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
          { ArgumentName: 'Authorization' },
        );
      }
      throw new S3AuthError(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    case 'anonymous':
      throw new S3AuthError(
        'AccessDenied',
        'Anonymous access is not allowed; sign the request with AWS Signature Version 4.',
      );
  }
}
