// Object tagging: GetObjectTagging, PutObjectTagging, DeleteObjectTagging.
import type { ObjectTag } from '../backend/types.ts';
import { parseTaggingXml } from '../s3/tagging.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

export async function getObjectTagging(
  ctx: OperationContext,
  bucket: string,
  key: string,
): Promise<ObjectTag[]> {
  await ownedBucket(ctx, bucket);
  const info = await ctx.backend.headObject(bucket, key);
  return info.tags ?? [];
}

/** Replaces the object's tag set with the one in the Tagging document. */
export async function putObjectTagging(
  ctx: OperationContext,
  bucket: string,
  key: string,
  taggingXml: string,
): Promise<void> {
  const tags = parseTaggingXml(taggingXml);
  await ownedBucket(ctx, bucket);
  await ctx.backend.setObjectTags(bucket, key, tags);
}

export async function deleteObjectTagging(ctx: OperationContext, bucket: string, key: string): Promise<void> {
  await ownedBucket(ctx, bucket);
  await ctx.backend.setObjectTags(bucket, key, []);
}
