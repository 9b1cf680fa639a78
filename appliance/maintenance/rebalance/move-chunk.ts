// Moves the shards of one chunk to their new appliances: copy → switch → delete. Reads never fail
// during the move: the record keeps naming the old shards until ONE s3db batch switches it to the
// copies (if the record changed meanwhile the copies are dropped), and the old shards are deleted
// only after that, through a garbage record so a crash in between leaves them collectable.
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES, garbageKey, objectKey } from '../../../shared/metadata/keys.ts';
import {
  decodeObjectRecord,
  encodeGarbageRecord,
  encodeObjectRecord,
  shardLocation,
} from '../../../shared/metadata/records.ts';
import type { ChunkRecord, GarbageRecord, ObjectRecord } from '../../../shared/metadata/records.ts';
import { MOVES_TABLE, cleanIntent, encodeMoveIntent, moveIntentKey } from './intents.ts';
import type { ChunkMovePlan } from './plan.ts';
import { dropShard, readShards, storedAt, writeShard } from './shard-io.ts';
import type { ShardIo } from './shard-io.ts';

export type MoveDb = Pick<S3dbClient, 'get' | 'batch' | 'scanAll' | 'delete'>;

export interface MoveEnv {
  db: MoveDb;
  io: ShardIo;
  jobId: string;
  /** Epoch recorded with the new placement. */
  epoch: number;
  /** Takes the garbage record of a finished move for a batched delete (default: deleted at once). */
  garbageDone?: (key: Buffer) => void;
  /** Old shards are left to the garbage worker, due this long after the switch (0: deleted at once). */
  readGraceMs?: number;
}

export interface StoredObject {
  bucket: string;
  key: string;
  record: ObjectRecord;
  /** s3db version of the record as read. */
  version: number;
}

export type MoveOutcome =
  | { kind: 'moved'; bytes: number; rebuilt: number; oldLeft: number }
  /** Another move of the same shard is in flight (or its intent awaits cleaning). */
  | { kind: 'busy' }
  /** The record changed (overwrite, delete, another move): the copies were dropped. */
  | { kind: 'changed' }
  | { kind: 'failed'; error: string };

const SWITCH_ATTEMPTS = 4;

function sameChunk(a: ChunkRecord | undefined, b: ChunkRecord | undefined): boolean {
  return a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

export async function moveChunk(env: MoveEnv, obj: StoredObject, plan: ChunkMovePlan): Promise<MoveOutcome> {
  const { db, io } = env;
  const c = plan.chunkIndex;
  const location = shardLocation(obj.record, c);
  const intent = Buffer.from(
    encodeMoveIntent({
      v: 1,
      bucket: obj.bucket,
      key: obj.key,
      job: env.jobId,
      created: Date.now(),
      state: 'copying',
    }),
  );
  const intentKeys = plan.moves.map((mv) =>
    moveIntentKey({
      versionId: location.versionId,
      chunkIndex: location.chunkIndex,
      shardIndex: mv.shardIndex,
      node: mv.to,
    }),
  );
  const claimed = await db.batch(
    intentKeys.map((key) => ({ kind: 'absent' as const, table: MOVES_TABLE, key })),
    intentKeys.map((key) => ({ kind: 'put' as const, table: MOVES_TABLE, key, value: intent })),
  );
  if (!claimed.ok) return { kind: 'busy' };

  const dropCopies = async (): Promise<void> => {
    for (const key of intentKeys) {
      const got = await db.get(MOVES_TABLE, key);
      if (got !== undefined) await cleanIntent(db, io, key, got.value).catch(() => false);
    }
  };

  const chunk = obj.record.chunks[c] as ChunkRecord;
  const stored = storedAt(obj.record, c);
  let bytes = 0;
  let rebuilt: number;
  try {
    const read = await readShards(
      io,
      obj.record,
      c,
      plan.moves.map((mv) => mv.shardIndex),
    );
    rebuilt = read.rebuilt.length;
    for (const mv of plan.moves)
      bytes += await writeShard(
        io,
        mv.to,
        { ...stored, shardIndex: mv.shardIndex },
        { k: chunk.k, m: chunk.m },
        read.shards.get(mv.shardIndex) as Buffer[],
      );
  } catch (error) {
    await dropCopies();
    return { kind: 'failed', error: error instanceof Error ? error.message : String(error) };
  }

  const recordKey = objectKey(obj.bucket, obj.key);
  const garbage: GarbageRecord = {
    v: 1,
    versionId: location.versionId,
    reason: 'rebalance',
    created: Date.now(),
    // A GET that read the record just before the switch still finds the old shards during the grace.
    notBefore: (env.readGraceMs ?? 0) > 0 ? Date.now() + (env.readGraceMs ?? 0) : 0,
    attempts: 0,
    shards: plan.moves.map((mv) => ({
      chunkIndex: location.chunkIndex,
      shardIndex: mv.shardIndex,
      node: mv.from,
    })),
  };
  const gKey = garbageKey(Buffer.from(location.versionId, 'hex'));
  let current = obj;
  for (let attempt = 0; attempt < SWITCH_ATTEMPTS; attempt++) {
    const next: ObjectRecord = {
      ...current.record,
      chunks: current.record.chunks.map((ch, i) =>
        i === c ? { ...ch, nodes: plan.target, epoch: env.epoch } : ch,
      ),
    };
    const r = await db.batch(
      [
        { kind: 'versionEquals', table: TABLES.objects, key: recordKey, version: current.version },
        ...intentKeys.map((key) => ({
          kind: 'valueEquals' as const,
          table: MOVES_TABLE,
          key,
          value: intent,
        })),
      ],
      [
        { kind: 'put', table: TABLES.objects, key: recordKey, value: encodeObjectRecord(next) },
        ...intentKeys.map((key) => ({ kind: 'delete' as const, table: MOVES_TABLE, key })),
        { kind: 'put', table: TABLES.garbage, key: gKey, value: encodeGarbageRecord(garbage) },
      ],
    );
    if (r.ok) {
      if ((env.readGraceMs ?? 0) > 0) return { kind: 'moved', bytes, rebuilt, oldLeft: plan.moves.length };
      let oldLeft = 0;
      for (const mv of plan.moves)
        if (!(await dropShard(io, mv.from, { ...stored, shardIndex: mv.shardIndex }))) oldLeft++;
      // Every old shard gone: the garbage record has nothing left to do. Otherwise the garbage worker
      // retries the unreachable appliances.
      if (oldLeft === 0) {
        if (env.garbageDone !== undefined) env.garbageDone(gKey);
        else await db.delete(TABLES.garbage, gKey).catch(() => undefined);
      }
      return { kind: 'moved', bytes, rebuilt, oldLeft };
    }
    // The record (or an intent) changed. A change elsewhere in the record (tags, another chunk) keeps
    // this chunk's copies valid: switch again on the new record.
    const got = await db.get(TABLES.objects, recordKey);
    if (got === undefined) break;
    const record = decodeObjectRecord(got.value);
    if (record.versionId !== obj.record.versionId || !sameChunk(record.chunks[c], chunk)) break;
    const intentsHeld = await Promise.all(intentKeys.map((key) => db.get(MOVES_TABLE, key)));
    if (intentsHeld.some((h) => h === undefined || !Buffer.from(h.value).equals(intent))) break;
    current = { ...obj, record, version: got.version };
  }
  await dropCopies();
  return { kind: 'changed' };
}
