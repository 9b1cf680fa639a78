// Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation.
import type { BucketInfo } from '../backend/types.ts';
import { S3Error } from '../errors.ts';
import { assertValidBucketName } from '../s3/bucket-name.ts';
import { parseCreateBucketConfiguration } from '../s3/xml.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

export async function listBuckets(ctx: OperationContext): Promise<{ owner: string; buckets: BucketInfo[] }> {
  return { owner: ctx.identity.accountId, buckets: await ctx.backend.listBuckets(ctx.identity.accountId) };
}

/**
 * Creates a bucket owned by the caller's account. A LocationConstraint is accepted when it names the
 * gateway's region (us-east-1 may also be left empty, as S3 requires); any other region is refused,
 * since this gateway serves exactly one.
 */
export async function createBucket(
  ctx: OperationContext,
  bucket: string,
  configurationXml: string,
): Promise<{ location: string }> {
  assertValidBucketName(bucket);
  const location = parseCreateBucketConfiguration(configurationXml);
  if (location !== '' && location !== ctx.region)
    throw new S3Error(
      'IllegalLocationConstraintException',
      `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      400,
    );
  await ctx.backend.createBucket(bucket, ctx.identity.accountId, location === '' ? ctx.region : location);
  return { location: `/${bucket}` };
}

export async function headBucket(ctx: OperationContext, bucket: string): Promise<{ region: string }> {
  const info = await ownedBucket(ctx, bucket);
  return { region: info.region === '' ? ctx.region : info.region };
}

export async function getBucketLocation(ctx: OperationContext, bucket: string): Promise<{ region: string }> {
  return headBucket(ctx, bucket);
}

export async function deleteBucket(ctx: OperationContext, bucket: string): Promise<void> {
  await ownedBucket(ctx, bucket);
  await ctx.backend.deleteBucket(bucket);
}
