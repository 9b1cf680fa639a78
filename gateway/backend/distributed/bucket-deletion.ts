// DeleteBucket without losing a racing PUT (issue #6). The bucket record is first MOVED to the
// `deleting` table in one batch (compare-and-set on its version). From then on every commit that
// requires the bucket (objects: its version; uploads and manifests: its existence) fails, so the
// linearizable emptiness scan that follows sees every object and upload that will ever be in the
// bucket. Empty: the mark is removed and the bucket is gone. Not empty: the record is moved back.
// CreateBucket requires the mark to be absent, so a name cannot be re-created mid-check. A mark left
// behind by a gateway that died mid-check is settled (the same way) by the next one that finds it
// older than STALE_MARK_MS.
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES, bucketKey, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeBucketRecord, encodeBucketRecord } from '../../../shared/metadata/records.ts';

/** A mark older than this belongs to a DeleteBucket that will not finish it. */
export const STALE_MARK_MS = 30_000;

export interface DeletionDeps {
  db: S3dbClient;
  hasUploads(bucket: string): Promise<boolean>;
}

export type MarkResult =
  { kind: 'marked'; mark: Uint8Array; original: Uint8Array } | { kind: 'missing' } | { kind: 'conflict' };

/** Moves the bucket record (read at `version`) to the deleting table. */
export async function markDeleting(
  deps: DeletionDeps,
  name: string,
  found: { value: Uint8Array; version: number },
  now = Date.now(),
): Promise<MarkResult> {
  const key = bucketKey(name);
  const mark = encodeBucketRecord({ ...decodeBucketRecord(found.value), deletingSince: now });
  const result = await deps.db.batch(
    [
      { kind: 'versionEquals', table: TABLES.buckets, key, version: found.version },
      { kind: 'absent', table: TABLES.deleting, key },
    ],
    [
      { kind: 'delete', table: TABLES.buckets, key },
      { kind: 'put', table: TABLES.deleting, key, value: mark },
    ],
  );
  if (result.ok) return { kind: 'marked', mark, original: found.value };
  return result.failed === 0 ? { kind: 'missing' } : { kind: 'conflict' };
}

/** Linearizable: no object and no open upload under the bucket. */
export async function bucketIsEmpty(deps: DeletionDeps, name: string): Promise<boolean> {
  const one = await deps.db.scan(TABLES.objects, { prefix: objectKey(name, ''), limit: 1 });
  if (one.items.length > 0) return false;
  return !(await deps.hasUploads(name));
}

/** Ends a marked deletion: removes the mark (bucket gone) or moves the record back. */
export async function finishDeletion(
  deps: DeletionDeps,
  name: string,
  mark: Uint8Array,
  original: Uint8Array,
  empty: boolean,
): Promise<boolean> {
  const key = bucketKey(name);
  const ours = { kind: 'valueEquals' as const, table: TABLES.deleting, key, value: mark };
  const result = empty
    ? await deps.db.batch([ours], [{ kind: 'delete', table: TABLES.deleting, key }])
    : await deps.db.batch(
        [ours, { kind: 'absent', table: TABLES.buckets, key }],
        [
          { kind: 'put', table: TABLES.buckets, key, value: original },
          { kind: 'delete', table: TABLES.deleting, key },
        ],
      );
  return result.ok;
}

export type MarkState = 'none' | 'fresh' | 'settled';

/**
 * What a missing bucket record means: no mark (`none`), a deletion in progress (`fresh`), or a mark
 * abandoned by a dead gateway, which this call settles (`settled`: the bucket is back or gone for good).
 */
export async function inspectMark(deps: DeletionDeps, name: string, now = Date.now()): Promise<MarkState> {
  const found = await deps.db.get(TABLES.deleting, bucketKey(name));
  if (found === undefined) return 'none';
  const record = decodeBucketRecord(found.value);
  if (now - (record.deletingSince ?? 0) < STALE_MARK_MS) return 'fresh';
  const { deletingSince: _since, ...original } = record;
  const empty = await bucketIsEmpty(deps, name);
  await finishDeletion(deps, name, found.value, encodeBucketRecord(original), empty);
  return 'settled';
}
