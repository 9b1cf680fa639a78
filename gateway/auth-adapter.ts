// Binds SigV4 verification to the gateway's auth contract (gateway/auth-contract.ts).
import { createHash } from 'node:crypto';
import { S3AuthError, verifyRequest } from '../shared/sigv4/index.ts';
import type { AuthConfig } from '../shared/config/types.ts';
import type { AuthRequest, GatewayAuth, Identity, VerifiedBody } from './auth-contract.ts';
import { NotImplemented } from './errors.ts';

export interface GatewayAuthOptions {
  region: string;
  now?: () => number;
}

function actionMatches(pattern: string, action: string): boolean {
  if (pattern === '*' || pattern === 's3:*') return true;
  if (pattern.endsWith('*')) return action.startsWith(pattern.slice(0, -1));
  return pattern === action;
}

export function createGatewayAuth(
  credentials: readonly AuthConfig[],
  options: GatewayAuthOptions,
): GatewayAuth {
  const byKey = new Map(credentials.map((entry) => [entry.accessKeyId, entry]));
  const now = options.now ?? Date.now;
  return {
    authenticate(request: AuthRequest): Identity {
      const verified = verifyRequest(request, (id) => byKey.get(id)?.secretAccessKey, {
        now: now(),
        regions: [options.region],
      });
      const entry = byKey.get(verified.accessKeyId) as AuthConfig;
      return { accessKeyId: entry.accessKeyId, accountId: entry.accountId };
    },
    decodeBody(request: AuthRequest, _identity: Identity, raw: AsyncIterable<Buffer>): VerifiedBody {
      const declared = request.headers['x-amz-content-sha256'];
      const payloadHash = Array.isArray(declared) ? declared[0] : declared;
      if (payloadHash !== undefined && payloadHash.startsWith('STREAMING-'))
        throw NotImplemented(`x-amz-content-sha256: ${payloadHash} (aws-chunked bodies)`);
      if (payloadHash === undefined || payloadHash === 'UNSIGNED-PAYLOAD')
        return { body: raw, verified: async () => undefined };
      const hash = createHash('sha256');
      let done = false;
      async function* hashed(): AsyncGenerator<Buffer> {
        for await (const chunk of raw) {
          hash.update(chunk);
          yield chunk;
        }
        done = true;
      }
      return {
        body: hashed(),
        verified: async () => {
          if (!done) throw new Error('body verification requested before the body was read');
          const actual = hash.digest('hex');
          if (actual !== payloadHash.toLowerCase())
            throw new S3AuthError(
              'XAmzContentSHA256Mismatch',
              "The provided 'x-amz-content-sha256' header does not match what was computed.",
              { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: actual },
            );
        },
      };
    },
    isAllowed(identity: Identity, action: string, bucket: string | undefined): boolean {
      const entry = byKey.get(identity.accessKeyId);
      if (entry === undefined) return false;
      if (entry.policy.length === 0) return true;
      return entry.policy.some(
        (statement) =>
          (bucket === undefined || statement.bucket === '*' || statement.bucket === bucket) &&
          statement.actions.some((pattern) => actionMatches(pattern, action)),
      );
    },
  };
}
