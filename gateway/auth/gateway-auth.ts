// A ready-made binding of this module to the gateway's auth contract (gateway/auth-contract.ts):
// `authenticate(request)`, `decodeBody(request, identity, raw)`, `isAllowed(identity, action, bucket)`.
// Structurally typed on purpose, so this folder does not depend on the gateway's files.
import { S3AuthError, type RequestLike } from '../../shared/sigv4/index.ts';
import { authenticate, type AuthenticateOptions } from './authenticate.ts';
import { decodeBody, type DecodeBodyOptions, type VerifiedBody } from './body.ts';
import { CredentialStore, type AuthEntry } from './credentials.ts';
import type { Identity } from './identity.ts';
import { isAllowed, type BucketAccess } from './policy.ts';

export interface GatewayAuthBindingOptions extends Omit<AuthenticateOptions, 'now' | 'regions'> {
  /** The cluster region; credential scopes naming another region are refused. Omit to accept any. */
  region?: string;
  now?: () => number;
  /** Passed to decodeBody (e.g. `{ computeChecksum: 'CRC32C' }`). */
  body?: DecodeBodyOptions;
}

export interface GatewayAuthBinding {
  readonly credentials: CredentialStore;
  authenticate(request: RequestLike): Identity;
  decodeBody(
    request: RequestLike,
    identity: { accessKeyId: string; accountId: string },
    raw: AsyncIterable<Uint8Array>,
  ): VerifiedBody;
  isAllowed(
    identity: { accessKeyId: string; accountId: string },
    action: string,
    bucket: string | undefined,
    access?: BucketAccess,
  ): boolean;
}

function asIdentity(identity: { accessKeyId: string; accountId: string }): Identity {
  const full = identity as Partial<Identity>;
  if (full.anonymous === undefined || full.policy === undefined) {
    throw new TypeError('gateway auth: pass the identity returned by authenticate()');
  }
  return full as Identity;
}

export function createGatewayAuth(
  entries: readonly AuthEntry[],
  options: GatewayAuthBindingOptions = {},
): GatewayAuthBinding {
  const credentials = new CredentialStore(entries);
  const { region, now, body, ...rest } = options;
  return {
    credentials,
    authenticate(request) {
      return authenticate(request, credentials, {
        ...rest,
        now: now ? now() : undefined,
        regions: region === undefined ? undefined : [region],
      });
    },
    decodeBody(request, identity, raw) {
      const full = asIdentity(identity);
      if (!full.auth) {
        // anonymous uploads are never allowed (PUBLIC_ACTIONS are reads), so there is no body to verify
        throw new S3AuthError('AccessDenied', 'Anonymous requests cannot upload data.');
      }
      return decodeBody(request, full.auth, raw, body);
    },
    isAllowed(identity, action, bucket, access) {
      return isAllowed(asIdentity(identity), action, bucket, access);
    },
  };
}
