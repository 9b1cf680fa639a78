// CopyObject, and the source side of UploadPartCopy: the source is read with the caller's rights on
// the source bucket (its owner account and s3:GetObject), its x-amz-copy-source-if-* conditions are
// checked against the stored metadata, and its bytes stream into the destination (never whole in memory).
import type { ObjectInfo, ObjectMetadata, PutResult } from '../backend/types.ts';
import { AccessDenied, InvalidRequest } from '../errors.ts';
import type { ConditionalHeaders } from '../s3/conditionals.ts';
import { checkCopySourceConditions, copyOntoItself, parseCopySourceRange } from '../s3/multipart-params.ts';
import type { CopySource, MetadataDirective } from '../s3/multipart-params.ts';
import { tagsForCopy } from '../s3/tagging.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

/** S3's largest copy source for CopyObject (larger objects are copied with UploadPartCopy). */
export const MAX_COPY_SOURCE_SIZE = 5 * 1024 ** 3;

export interface CopySourceRequest {
  source: CopySource;
  conditions: ConditionalHeaders;
  /** x-amz-copy-source-range (UploadPartCopy only). */
  range?: string;
  /** Whether the caller may read objects of this bucket (s3:GetObject under its policy). */
  mayRead: (bucket: string) => boolean;
}

export interface OpenedSource {
  info: ObjectInfo;
  /** Bytes that will be copied (the range's length, or the object's size). */
  length: number;
  body: AsyncIterable<Buffer>;
  /** Releases the source stream (also when the copy stopped early). */
  close(): Promise<void>;
}

export async function openCopySource(
  ctx: OperationContext,
  request: CopySourceRequest,
): Promise<OpenedSource> {
  const { source } = request;
  if (!request.mayRead(source.bucket)) throw AccessDenied();
  await ownedBucket(ctx, source.bucket);
  const range = request.range;
  const result = await ctx.backend.getObject(source.bucket, source.key, {
    check: (info) => checkCopySourceConditions(request.conditions, info),
    ...(range === undefined ? {} : { range: (info: ObjectInfo) => parseCopySourceRange(range, info.size) }),
  });
  const iterator = result.body[Symbol.asyncIterator]();
  let closed = false;
  return {
    info: result.info,
    length: result.range === undefined ? result.info.size : result.range.end - result.range.start + 1,
    body: { [Symbol.asyncIterator]: () => iterator },
    async close() {
      if (closed) return;
      closed = true;
      await iterator.return?.();
    },
  };
}

export interface CopyObjectRequest {
  bucket: string;
  key: string;
  source: CopySourceRequest;
  directive: MetadataDirective;
  /** The request's own metadata headers (used with REPLACE). */
  metadata: ObjectMetadata;
  /** x-amz-tagging-directive and x-amz-tagging of the request (COPY keeps the source's tags). */
  tagging: { directive?: string; header?: string };
}

function metadataOf(info: ObjectInfo): ObjectMetadata {
  const out: ObjectMetadata = { contentType: info.contentType, userMetadata: { ...info.userMetadata } };
  if (info.contentEncoding !== undefined) out.contentEncoding = info.contentEncoding;
  if (info.contentDisposition !== undefined) out.contentDisposition = info.contentDisposition;
  if (info.contentLanguage !== undefined) out.contentLanguage = info.contentLanguage;
  if (info.cacheControl !== undefined) out.cacheControl = info.cacheControl;
  if (info.expires !== undefined) out.expires = info.expires;
  return out;
}

export async function copyObject(ctx: OperationContext, request: CopyObjectRequest): Promise<PutResult> {
  const { source } = request.source;
  if (source.bucket === request.bucket && source.key === request.key && request.directive !== 'REPLACE')
    throw copyOntoItself();
  await ownedBucket(ctx, request.bucket);
  const opened = await openCopySource(ctx, request.source);
  try {
    if (opened.info.size > MAX_COPY_SOURCE_SIZE)
      throw InvalidRequest(
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SOURCE_SIZE}`,
      );
    const tags = tagsForCopy(request.tagging.directive, opened.info.tags, request.tagging.header);
    return await ctx.backend.putObject({
      bucket: request.bucket,
      key: request.key,
      body: opened.body,
      metadata: request.directive === 'REPLACE' ? request.metadata : metadataOf(opened.info),
      expectedSize: opened.info.size,
      ...(tags.length === 0 ? {} : { tags }),
    });
  } finally {
    await opened.close();
  }
}
