// ListObjectsV2 and ListObjects (V1) over the backend's ordered listing.
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';
import { encodeContinuationToken } from '../s3/list-params.ts';
import type { ListV1Params, ListV2Params } from '../s3/list-params.ts';
import type { ListV1Document, ListV2Document } from '../s3/documents.ts';

export async function listObjectsV2(
  ctx: OperationContext,
  bucket: string,
  params: ListV2Params,
): Promise<ListV2Document> {
  const info = await ownedBucket(ctx, bucket);
  const page = await ctx.backend.listObjects({
    bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    after: params.after,
    maxKeys: params.maxKeys,
  });
  const doc: ListV2Document = {
    bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    maxKeys: params.maxKeys,
    encodeUrl: params.encodeUrl,
    startAfter: params.startAfter,
    isTruncated: page.isTruncated,
    contents: page.contents,
    commonPrefixes: page.commonPrefixes,
  };
  if (params.continuationToken !== undefined) doc.continuationToken = params.continuationToken;
  if (page.isTruncated && page.nextAfter !== undefined)
    doc.nextContinuationToken = encodeContinuationToken(page.nextAfter);
  if (params.fetchOwner) doc.owner = info.owner;
  return doc;
}

export async function listObjectsV1(
  ctx: OperationContext,
  bucket: string,
  params: ListV1Params,
): Promise<ListV1Document> {
  const info = await ownedBucket(ctx, bucket);
  const page = await ctx.backend.listObjects({
    bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    after: params.marker,
    maxKeys: params.maxKeys,
  });
  const doc: ListV1Document = {
    bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    maxKeys: params.maxKeys,
    encodeUrl: params.encodeUrl,
    marker: params.marker,
    isTruncated: page.isTruncated,
    contents: page.contents,
    commonPrefixes: page.commonPrefixes,
    owner: info.owner,
  };
  if (page.isTruncated && page.nextAfter !== undefined) doc.nextMarker = page.nextAfter;
  return doc;
}
