// The gateway's single entry point for authentication.
import {
  S3AuthError,
  authKindOf,
  verifyRequest,
  type HeaderBag,
  type RequestLike,
  type VerifyOptions,
} from '../../shared/sigv4/index.ts';
import type { CredentialStore } from './credentials.ts';
import { ANONYMOUS, type Identity } from './identity.ts';

export interface AuthenticateOptions {
  now?: Date | number;
  /** The Host the client signed, when a proxy (Lambda function URL, ALB, CloudFront) rewrote Host. */
  signedHostOverride?: string;
  /** Use X-Forwarded-Host as the signed host when present (only behind a proxy you trust to set it). */
  trustForwardedHost?: boolean;
  /** Regions accepted in the credential scope; undefined accepts any. */
  regions?: readonly string[];
  /** Return the ANONYMOUS identity for unsigned requests instead of AccessDenied (public buckets). */
  allowAnonymous?: boolean;
  maxSkewMs?: number;
}

function firstHeader(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value.split(',')[0]?.trim() : value[0]?.trim();
}

/**
 * Verifies the request's SigV4 signature (Authorization header or presigned query) and returns who sent it.
 * Throws S3AuthError (`code`, `status`) on any failure. Bodies are verified separately with decodeBody().
 */
export function authenticate(
  req: RequestLike,
  credentials: CredentialStore,
  options: AuthenticateOptions = {},
): Identity {
  if (options.allowAnonymous && authKindOf(req) === 'anonymous') return ANONYMOUS;
  const forwardedHost = options.trustForwardedHost ? firstHeader(req.headers, 'x-forwarded-host') : undefined;
  const verifyOptions: VerifyOptions = {
    now: options.now,
    signedHostOverride: options.signedHostOverride ?? forwardedHost,
    service: 's3',
    regions: options.regions,
    maxSkewMs: options.maxSkewMs,
  };
  const verified = verifyRequest(req, credentials.lookup, verifyOptions);
  const account = credentials.account(verified.accessKeyId);
  if (!account) {
    throw new S3AuthError(
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  return {
    anonymous: false,
    accessKeyId: account.accessKeyId,
    accountId: account.accountId,
    policy: account.policy,
    auth: verified,
  };
}

/** Builds a RequestLike from a method, the request target as sent (`/path?query`) and node-style headers. */
export function toRequestLike(method: string, url: string, headers: HeaderBag): RequestLike {
  const q = url.indexOf('?');
  return {
    method,
    rawPath: q < 0 ? url : url.slice(0, q),
    query: q < 0 ? '' : url.slice(q + 1),
    headers,
  };
}
