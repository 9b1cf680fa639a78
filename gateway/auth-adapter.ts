// Binds the SigV4 implementation (gateway/auth/) to the gateway's auth contract (auth-contract.ts).
import type { AuthConfig } from '../shared/config/types.ts';
import { CredentialStore, authenticate, decodeBody, isAllowed } from './auth/index.ts';
import type { ChecksumAlgorithm, Identity as SignedIdentity } from './auth/index.ts';
import type { AuthRequest, GatewayAuth, Identity, VerifiedBody } from './auth-contract.ts';
import { headerValue } from './s3/headers.ts';
import { AccessDenied } from './errors.ts';

export interface GatewayAuthOptions {
  /** The region clients must sign for. */
  region: string;
  now?: () => number;
  /** The Host clients signed when a proxy rewrote it (Lambda function URL, ALB). */
  signedHostOverride?: string;
}

function declaredLength(request: AuthRequest): number | undefined {
  const text =
    headerValue(request.headers, 'x-amz-decoded-content-length') ??
    headerValue(request.headers, 'content-length');
  return text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

export function createGatewayAuth(
  credentials: readonly AuthConfig[],
  options: GatewayAuthOptions,
): GatewayAuth {
  const store = new CredentialStore(credentials);
  // The verified signature (seed for aws-chunked) and policy travel with the identity we hand out.
  const signed = new WeakMap<Identity, SignedIdentity>();
  const signedOf = (identity: Identity): SignedIdentity => {
    const found = signed.get(identity);
    if (found === undefined) throw new Error('identity was not produced by this authenticator');
    return found;
  };
  return {
    authenticate(request: AuthRequest): Identity {
      const verified = authenticate(request, store, {
        now: (options.now ?? Date.now)(),
        regions: [options.region],
        ...(options.signedHostOverride === undefined
          ? {}
          : { signedHostOverride: options.signedHostOverride }),
      });
      const identity: Identity = { accessKeyId: verified.accessKeyId, accountId: verified.accountId };
      signed.set(identity, verified);
      return identity;
    },
    decodeBody(request: AuthRequest, identity: Identity, raw: AsyncIterable<Buffer>): VerifiedBody {
      const signature = signedOf(identity).auth;
      if (signature === undefined) throw AccessDenied('Anonymous requests cannot send a body.');
      const body = decodeBody(request, signature, raw);
      const length = declaredLength(request);
      let checksum: { algorithm: ChecksumAlgorithm; value: string } | undefined;
      return {
        body,
        ...(length === undefined ? {} : { decodedLength: length }),
        verified: async () => {
          checksum = (await body.result).checksum;
        },
        checksum: () => checksum,
      };
    },
    isAllowed(identity: Identity, action: string, bucket: string | undefined): boolean {
      return isAllowed(signedOf(identity), action, bucket);
    },
  };
}
