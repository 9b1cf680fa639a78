// Object operations: PutObject, GetObject, HeadObject, DeleteObject.
import type {
  GetObjectResult,
  ObjectInfo,
  ObjectMetadata,
  ObjectTag,
  PutResult,
  StoredChecksum,
} from '../backend/types.ts';
import { EntityTooLarge } from '../errors.ts';
import { checkConditions, hasConditions } from '../s3/conditionals.ts';
import type { ConditionalHeaders } from '../s3/conditionals.ts';
import { resolveRange } from '../s3/range.ts';
import type { RangeSpec } from '../s3/range.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

/** Object operations check ownership against the backend's recent bucket record (its commits re-check). */
const CACHED = { cached: true };

/** S3's limit for a single PUT (larger objects need multipart upload). */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;

export interface PutObjectRequest {
  bucket: string;
  key: string;
  body: AsyncIterable<Buffer>;
  metadata: ObjectMetadata;
  size: number;
  contentMd5?: Buffer;
  /** Runs after the whole body arrived, before the object is committed (body verification). */
  beforeCommit?: () => Promise<void>;
  /** Tags from x-amz-tagging. */
  tags?: ObjectTag[];
  /** The verified client checksum, read after beforeCommit. */
  checksum?: () => StoredChecksum | undefined;
}

export async function putObject(ctx: OperationContext, request: PutObjectRequest): Promise<PutResult> {
  if (request.size > MAX_PUT_SIZE) throw EntityTooLarge(MAX_PUT_SIZE);
  await ownedBucket(ctx, request.bucket, CACHED);
  return ctx.backend.putObject({
    bucket: request.bucket,
    key: request.key,
    body: request.body,
    metadata: request.metadata,
    expectedSize: request.size,
    ...(request.contentMd5 === undefined ? {} : { expectedMd5: request.contentMd5 }),
    ...(request.beforeCommit === undefined ? {} : { beforeCommit: request.beforeCommit }),
    ...(request.tags === undefined ? {} : { tags: request.tags }),
    ...(request.checksum === undefined ? {} : { checksum: request.checksum }),
  });
}

export interface ReadObjectRequest {
  bucket: string;
  key: string;
  range?: RangeSpec;
  conditions: ConditionalHeaders;
}

function conditionCheck(conditions: ConditionalHeaders): ((info: ObjectInfo) => void) | undefined {
  return hasConditions(conditions)
    ? (info) => checkConditions(conditions, info.etag, info.lastModified)
    : undefined;
}

export async function getObject(ctx: OperationContext, request: ReadObjectRequest): Promise<GetObjectResult> {
  await ownedBucket(ctx, request.bucket, CACHED);
  const check = conditionCheck(request.conditions);
  const spec = request.range;
  return ctx.backend.getObject(request.bucket, request.key, {
    ...(check === undefined ? {} : { check }),
    ...(spec === undefined ? {} : { range: (info: ObjectInfo) => resolveRange(spec, info.size) }),
  });
}

export async function headObject(
  ctx: OperationContext,
  request: ReadObjectRequest,
): Promise<{ info: ObjectInfo; range?: { start: number; end: number } }> {
  await ownedBucket(ctx, request.bucket, CACHED);
  const info = await ctx.backend.headObject(request.bucket, request.key);
  conditionCheck(request.conditions)?.(info);
  if (request.range === undefined) return { info };
  return { info, range: resolveRange(request.range, info.size) };
}

export async function deleteObject(ctx: OperationContext, bucket: string, key: string): Promise<void> {
  await ownedBucket(ctx, bucket, CACHED);
  await ctx.backend.deleteObject(bucket, key);
}
