// DeleteObjects: up to 1000 keys in one request, deleted concurrently (bounded); each key gets its
// own result, so one failure never hides the others.
import { isS3Error } from '../errors.ts';
import { MAX_KEY_BYTES } from '../s3/route.ts';
import { parseDeleteXml } from '../s3/delete-objects.ts';
import type { DeleteEntry, DeleteObjectsResult } from '../s3/delete-objects.ts';
import { NULL_VERSION } from '../s3/versions.ts';
import { ownedBucket } from './context.ts';
import type { OperationContext } from './context.ts';

/** Deletes in flight at once: enough to overlap s3db round trips, few enough not to flood it. */
export const DELETE_CONCURRENCY = 16;

export interface DeleteObjectsOptions {
  /** Whether the caller may delete objects in this bucket (s3:DeleteObject); if not, every key reports AccessDenied. */
  allowed: boolean;
  concurrency?: number;
}

type Outcome = { ok: true } | { ok: false; code: string; message: string };

async function deleteOne(
  ctx: OperationContext,
  bucket: string,
  entry: DeleteEntry,
  allowed: boolean,
): Promise<Outcome> {
  if (!allowed) return { ok: false, code: 'AccessDenied', message: 'Access Denied' };
  if (entry.conditional)
    return {
      ok: false,
      code: 'NotImplemented',
      message: 'Conditional deletes (ETag, LastModifiedTime, Size) are not supported.',
    };
  if (Buffer.byteLength(entry.key) > MAX_KEY_BYTES)
    return {
      ok: false,
      code: 'KeyTooLongError',
      message: 'Your key is too long (at most 1024 bytes of UTF-8).',
    };
  if (entry.versionId !== undefined && entry.versionId !== NULL_VERSION)
    return {
      ok: false,
      code: 'NoSuchVersion',
      message:
        'The specified version does not exist. This store keeps only the current (null) version of each object.',
    };
  try {
    await ctx.backend.deleteObject(bucket, entry.key);
    return { ok: true };
  } catch (error) {
    if (isS3Error(error) && error.status < 500)
      return { ok: false, code: error.code, message: error.message };
    return {
      ok: false,
      code: 'InternalError',
      message: 'We encountered an internal error. Please try again.',
    };
  }
}

export async function deleteObjects(
  ctx: OperationContext,
  bucket: string,
  deleteXml: string,
  options: DeleteObjectsOptions,
): Promise<{ quiet: boolean; result: DeleteObjectsResult }> {
  const request = parseDeleteXml(deleteXml);
  await ownedBucket(ctx, bucket);
  const outcomes: Outcome[] = new Array<Outcome>(request.objects.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < request.objects.length) {
      const index = next++;
      outcomes[index] = await deleteOne(ctx, bucket, request.objects[index] as DeleteEntry, options.allowed);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? DELETE_CONCURRENCY, request.objects.length));
  await Promise.all(Array.from({ length: workers }, worker));
  const result: DeleteObjectsResult = { deleted: [], errors: [] };
  request.objects.forEach((entry, i) => {
    const outcome = outcomes[i] as Outcome;
    const version = entry.versionId === undefined ? {} : { versionId: entry.versionId };
    if (outcome.ok) result.deleted.push({ key: entry.key, ...version });
    else result.errors.push({ key: entry.key, ...version, code: outcome.code, message: outcome.message });
  });
  return { quiet: request.quiet, result };
}
