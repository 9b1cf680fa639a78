// ListObjectVersions, GetBucketVersioning and PutBucketVersioning for a store that keeps one
// (null) version per key.
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';
import { parseVersioningXml, versioningStateToStore } from '../s3/versions.ts';
import type { ListVersionsDocument, ListVersionsParams } from '../s3/versions.ts';

export async function listObjectVersions(
  ctx: OperationContext,
  bucket: string,
  params: ListVersionsParams,
): Promise<ListVersionsDocument> {
  const info = await ownedBucket(ctx, bucket);
  const page = await ctx.backend.listObjects({
    bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    after: params.after,
    maxKeys: params.maxKeys,
  });
  const doc: ListVersionsDocument = {
    bucket,
    params,
    owner: info.owner,
    isTruncated: page.isTruncated,
    versions: page.contents,
    commonPrefixes: page.commonPrefixes,
  };
  if (page.isTruncated && page.nextAfter !== undefined) doc.nextKeyMarker = page.nextAfter;
  return doc;
}

export async function getBucketVersioning(
  ctx: OperationContext,
  bucket: string,
): Promise<'Suspended' | undefined> {
  return (await ownedBucket(ctx, bucket)).versioning;
}

/** Accepts Suspended (what this store does anyway); Enabled and MFA delete answer NotImplemented. */
export async function putBucketVersioning(
  ctx: OperationContext,
  bucket: string,
  versioningXml: string,
): Promise<void> {
  const state = versioningStateToStore(parseVersioningXml(versioningXml));
  await ownedBucket(ctx, bucket);
  if (state === undefined) return;
  await ctx.backend.updateBucketSettings(bucket, (current) => ({ ...current, versioning: state }));
}
