// Full repair sweep (job kind `repair`): every object record from the cursor on, every chunk's k+m
// shards STATed, anything missing, misshapen or on a gone appliance rebuilt at once; chunks that
// cannot be finished now (an appliance down) get a repair task, so the healer follows up.
import { TABLES, repairKey } from '../../shared/metadata/keys.ts';
import { encodeRepairRecord } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import { repairChunk } from './chunk-repair.ts';
import type { RepairContext } from './chunk-repair.ts';
import { scanObjects } from './object-scan.ts';
import type { ScannedObject } from './object-scan.ts';
import type { ProgressPatch } from './registry.ts';

export interface SweepOptions {
  db: Pick<S3dbClient, 'scan' | 'put'>;
  repair: RepairContext;
  /** Hex of the last objects-table key done (resume point). */
  cursor?: string;
  bucket?: string;
  /** Objects checked at once. */
  concurrency: number;
  signal: AbortSignal;
  progress(patch: ProgressPatch): void;
  log(line: string): void;
}

export interface SweepTotals {
  objects: number;
  chunks: number;
  healthy: number;
  repaired: number;
  /** Chunks left to the healer (an appliance did not answer). */
  queued: number;
  shardsRebuilt: number;
  bytesRebuilt: number;
}

/** Number of object records (for the progress total); bounded by the same scan the sweep does. */
export async function countObjects(db: Pick<S3dbClient, 'scan'>, bucket?: string): Promise<number> {
  let n = 0;
  for await (const _ of scanObjects(db, {
    pageSize: 1000,
    ...(bucket ? { prefix: bucketPrefix(bucket) } : {}),
  }))
    n++;
  return n;
}

function bucketPrefix(bucket: string): Buffer {
  return Buffer.concat([Buffer.from(bucket, 'utf8'), Buffer.from([0])]);
}

export async function sweep(options: SweepOptions, totals: SweepTotals): Promise<SweepTotals> {
  const { signal } = options;
  const batch: ScannedObject[] = [];
  const flush = async (): Promise<void> => {
    await Promise.all(batch.map((object) => checkObject(options, object, totals)));
    const last = batch.at(-1);
    batch.length = 0;
    if (last)
      options.progress({
        done: totals.objects,
        bytes: totals.bytesRebuilt,
        cursor: Buffer.from(last.storedKey).toString('hex'),
      });
  };
  for await (const object of scanObjects(options.db, {
    ...(options.cursor ? { startAfter: Buffer.from(options.cursor, 'hex') } : {}),
    ...(options.bucket ? { prefix: bucketPrefix(options.bucket) } : {}),
  })) {
    if (signal.aborted) break;
    batch.push(object);
    if (batch.length >= options.concurrency) await flush();
  }
  if (!signal.aborted) await flush();
  return totals;
}

async function checkObject(options: SweepOptions, object: ScannedObject, totals: SweepTotals): Promise<void> {
  for (let chunkIndex = 0; chunkIndex < object.record.chunks.length; chunkIndex++) {
    if (options.signal.aborted) return;
    const ref = { bucket: object.bucket, key: object.key, record: object.record, chunkIndex };
    const r = await repairChunk(options.repair, ref, [], options.signal);
    totals.chunks++;
    options.repair.stats.repair.chunksSwept++;
    totals.shardsRebuilt += r.rebuilt.length;
    totals.bytesRebuilt += r.bytesWritten;
    if (r.status === 'healthy') totals.healthy++;
    else if (r.status === 'repaired') totals.repaired++;
    if (r.rebuilt.length > 0)
      options.log(
        `sweep: ${object.bucket}/${object.key} chunk ${chunkIndex}: rebuilt shard(s) ${r.rebuilt.join(',')}`,
      );
    if (r.status === 'blocked' && r.blocked.length > 0) {
      totals.queued++;
      const versionId = object.record.versionId;
      await options.db.put(
        TABLES.repair,
        repairKey(Buffer.from(versionId, 'hex'), chunkIndex),
        encodeRepairRecord({
          v: 1,
          bucket: object.bucket,
          key: object.key,
          versionId,
          chunkIndex,
          shards: r.blocked,
          reason: 'read-failed',
          created: Date.now(),
        }),
      );
    }
  }
  totals.objects++;
}
