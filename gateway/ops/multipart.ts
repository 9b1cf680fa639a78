// Multipart upload operations: CreateMultipartUpload, UploadPart, UploadPartCopy,
// CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads, and GET/HEAD of one
// part of an object (?partNumber=N). No Fastify inside.
import type {
  GetObjectResult,
  MultipartBackend,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectMetadata,
  ObjectTag,
  PartInfo,
  PutResult,
} from '../backend/types.ts';
import { EntityTooLarge, InvalidPartNumber, InvalidRequest, NotImplemented } from '../errors.ts';
import { checkConditions, hasConditions } from '../s3/conditionals.ts';
import type { ConditionalHeaders } from '../s3/conditionals.ts';
import { MAX_PART_SIZE, partByteRange } from '../s3/multipart-complete.ts';
import { parseCompleteMultipartUpload } from '../s3/multipart-xml.ts';
import type { ListPartsDocument, ListUploadsDocument } from '../s3/multipart-xml.ts';
import type { ListPartsParams, ListUploadsParams } from '../s3/multipart-params.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';
import { openCopySource } from './copy.ts';
import type { CopySourceRequest } from './copy.ts';

function multipartOf(ctx: OperationContext): MultipartBackend {
  const multipart = ctx.backend.multipart;
  if (multipart === undefined) throw NotImplemented(`multipart upload on the ${ctx.backend.kind} backend`);
  return multipart;
}

export async function createMultipartUpload(
  ctx: OperationContext,
  request: { bucket: string; key: string; metadata: ObjectMetadata; tags?: ObjectTag[] },
): Promise<MultipartUploadInfo> {
  const multipart = multipartOf(ctx);
  await ownedBucket(ctx, request.bucket);
  return multipart.createMultipartUpload({ ...request, owner: ctx.identity.accountId });
}

export interface UploadPartRequest {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  body: AsyncIterable<Buffer>;
  size: number;
  contentMd5?: Buffer;
  beforeCommit?: () => Promise<void>;
}

export async function uploadPart(ctx: OperationContext, request: UploadPartRequest): Promise<PartInfo> {
  const multipart = multipartOf(ctx);
  if (request.size > MAX_PART_SIZE) throw EntityTooLarge(MAX_PART_SIZE);
  await ownedBucket(ctx, request.bucket);
  return multipart.uploadPart({
    bucket: request.bucket,
    key: request.key,
    uploadId: request.uploadId,
    partNumber: request.partNumber,
    body: request.body,
    expectedSize: request.size,
    ...(request.contentMd5 === undefined ? {} : { expectedMd5: request.contentMd5 }),
    ...(request.beforeCommit === undefined ? {} : { beforeCommit: request.beforeCommit }),
  });
}

export async function uploadPartCopy(
  ctx: OperationContext,
  request: { bucket: string; key: string; uploadId: string; partNumber: number; source: CopySourceRequest },
): Promise<PartInfo> {
  const multipart = multipartOf(ctx);
  await ownedBucket(ctx, request.bucket);
  const source = await openCopySource(ctx, request.source);
  try {
    if (source.length > MAX_PART_SIZE) throw EntityTooLarge(MAX_PART_SIZE);
    return await multipart.uploadPart({
      bucket: request.bucket,
      key: request.key,
      uploadId: request.uploadId,
      partNumber: request.partNumber,
      body: source.body,
      expectedSize: source.length,
    });
  } finally {
    await source.close();
  }
}

export async function completeMultipartUpload(
  ctx: OperationContext,
  request: { bucket: string; key: string; uploadId: string; xml: string },
): Promise<PutResult> {
  const multipart = multipartOf(ctx);
  const parts = parseCompleteMultipartUpload(request.xml);
  await ownedBucket(ctx, request.bucket);
  return multipart.completeMultipartUpload({
    bucket: request.bucket,
    key: request.key,
    uploadId: request.uploadId,
    parts,
  });
}

export async function abortMultipartUpload(
  ctx: OperationContext,
  request: { bucket: string; key: string; uploadId: string },
): Promise<void> {
  const multipart = multipartOf(ctx);
  await ownedBucket(ctx, request.bucket);
  await multipart.abortMultipartUpload(request.bucket, request.key, request.uploadId);
}

export async function listParts(
  ctx: OperationContext,
  request: { bucket: string; key: string; uploadId: string; params: ListPartsParams },
): Promise<ListPartsDocument> {
  const multipart = multipartOf(ctx);
  await ownedBucket(ctx, request.bucket);
  const result = await multipart.listParts({
    bucket: request.bucket,
    key: request.key,
    uploadId: request.uploadId,
    partNumberMarker: request.params.partNumberMarker,
    maxParts: request.params.maxParts,
  });
  const doc: ListPartsDocument = {
    bucket: request.bucket,
    key: request.key,
    uploadId: request.uploadId,
    owner: result.upload.owner,
    partNumberMarker: request.params.partNumberMarker,
    maxParts: request.params.maxParts,
    isTruncated: result.isTruncated,
    parts: result.parts,
  };
  if (result.nextPartNumberMarker !== undefined) doc.nextPartNumberMarker = result.nextPartNumberMarker;
  return doc;
}

export async function listMultipartUploads(
  ctx: OperationContext,
  request: { bucket: string; params: ListUploadsParams },
): Promise<ListUploadsDocument> {
  const multipart = multipartOf(ctx);
  await ownedBucket(ctx, request.bucket);
  const { params } = request;
  const result = await multipart.listMultipartUploads({
    bucket: request.bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    keyMarker: params.keyMarker,
    uploadIdMarker: params.uploadIdMarker,
    maxUploads: params.maxUploads,
  });
  const doc: ListUploadsDocument = {
    bucket: request.bucket,
    prefix: params.prefix,
    delimiter: params.delimiter,
    keyMarker: params.keyMarker,
    uploadIdMarker: params.uploadIdMarker,
    maxUploads: params.maxUploads,
    encodeUrl: params.encodeUrl,
    isTruncated: result.isTruncated,
    uploads: result.uploads,
    commonPrefixes: result.commonPrefixes,
  };
  if (result.nextKeyMarker !== undefined) doc.nextKeyMarker = result.nextKeyMarker;
  if (result.nextUploadIdMarker !== undefined) doc.nextUploadIdMarker = result.nextUploadIdMarker;
  return doc;
}

/** The byte range of part `partNumber`; a single-PUT object has exactly one part (itself). */
export function partRange(info: ObjectInfo, partNumber: number): { start: number; end: number } | undefined {
  const sizes = info.partSizes ?? [info.size];
  const range = partByteRange(sizes, partNumber);
  if (range === undefined) throw InvalidPartNumber();
  return range.end < range.start ? undefined : range;
}

/** x-amz-mp-parts-count of a part read: multipart objects only (S3 omits it for single-PUT objects). */
export function partsCount(info: ObjectInfo): number | undefined {
  return info.partSizes?.length;
}

export interface ReadPartRequest {
  bucket: string;
  key: string;
  partNumber: number;
  conditions: ConditionalHeaders;
  /** A Range header together with partNumber is refused, as S3 does. */
  hasRange: boolean;
}

function conditionCheck(conditions: ConditionalHeaders): ((info: ObjectInfo) => void) | undefined {
  return hasConditions(conditions)
    ? (info) => checkConditions(conditions, info.etag, info.lastModified)
    : undefined;
}

/** GET ?partNumber=N: that part's bytes, with the object's ETag. */
export async function getObjectPart(
  ctx: OperationContext,
  request: ReadPartRequest,
): Promise<GetObjectResult> {
  if (request.hasRange)
    throw InvalidRequest('Cannot specify both Range header and partNumber query parameter');
  await ownedBucket(ctx, request.bucket);
  const check = conditionCheck(request.conditions);
  return ctx.backend.getObject(request.bucket, request.key, {
    ...(check === undefined ? {} : { check }),
    range: (info) => partRange(info, request.partNumber),
  });
}

/** HEAD ?partNumber=N. */
export async function headObjectPart(
  ctx: OperationContext,
  request: ReadPartRequest,
): Promise<{ info: ObjectInfo; range?: { start: number; end: number } }> {
  if (request.hasRange)
    throw InvalidRequest('Cannot specify both Range header and partNumber query parameter');
  await ownedBucket(ctx, request.bucket);
  const info = await ctx.backend.headObject(request.bucket, request.key);
  conditionCheck(request.conditions)?.(info);
  const range = partRange(info, request.partNumber);
  return range === undefined ? { info } : { info, range };
}
