// What every S3 operation runs with: the backend, who is asking, and the gateway's region.
import type { Backend, BucketInfo } from '../backend/types.ts';
import type { Identity } from '../auth-contract.ts';
import { AccessDenied } from '../errors.ts';

export interface OperationContext {
  backend: Backend;
  identity: Identity;
  region: string;
}

/** The bucket, if it exists and belongs to the caller's account; another account's bucket → AccessDenied. */
export async function ownedBucket(
  ctx: OperationContext,
  bucket: string,
  options: { cached?: boolean } = {},
): Promise<BucketInfo> {
  const info = await ctx.backend.headBucket(bucket, options);
  if (info.owner !== ctx.identity.accountId) throw AccessDenied();
  return info;
}
