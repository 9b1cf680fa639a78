// Re-encodes one object to another RS scheme: read its bytes (data shards, or rebuilt), encode them
// with the new geometry under a fresh data id, write every shard, check the MD5 against the record,
// then ONE batch switches the record to the new chunks and turns the old shards into garbage. A
// garbage record naming the new shards is written BEFORE them (due only much later) and removed by the
// switch, so a crash at any point leaves nothing that is never collected; the object's version id and
// ETag stay the same.
import {
  ObjectEncoder,
  chunkLayouts,
  makeGeometry,
  stripeCount,
  stripeLayout,
} from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';
import { TABLES, garbageKey, newVersionId, objectKey } from '../../../shared/metadata/keys.ts';
import { encodeGarbageRecord, encodeObjectRecord, shardsOf } from '../../../shared/metadata/records.ts';
import type { ChunkRecord, GarbageRecord, ObjectRecord, ShardRef } from '../../../shared/metadata/records.ts';
import type { HashRing } from '../../../shared/ring/index.ts';
import type { MoveDb, StoredObject } from './move-chunk.ts';
import { ShardMoveError, dropShard, readShards, writeShard } from './shard-io.ts';
import type { ShardIo } from './shard-io.ts';

export interface MigrateEnv {
  db: MoveDb;
  io: ShardIo;
  ring: HashRing;
  scheme: RsScheme;
  /** Upper bound of the new chunk size (the new geometry rounds it down to whole stripes). */
  maxChunkSize: number;
  /** How long the pre-written garbage record of the new shards waits before it is due. Default 1 h. */
  pendingMs?: number;
  /**
   * Old shards are left to the garbage worker, due this long after the switch, instead of deleted at
   * once: a GET that read the record just before the switch still finds them. 0: deleted at once.
   */
  readGraceMs?: number;
}

export type MigrateOutcome =
  | { kind: 'migrated'; bytes: number; chunks: number; oldLeft: number }
  | { kind: 'changed' }
  | { kind: 'failed'; error: string };

/** The object as parts of consecutive chunks (one part for an object written by one PUT). */
function partsOf(record: ObjectRecord): { size: number; firstChunk: number; chunks: number; md5?: string }[] {
  if (record.parts === undefined) {
    const md5 = /^[0-9a-f]{32}$/.test(record.etag) ? record.etag : undefined;
    return [{ size: record.size, firstChunk: 0, chunks: record.chunks.length, ...(md5 ? { md5 } : {}) }];
  }
  let first = 0;
  return record.parts.map((p) => {
    const part = { size: p.size, firstChunk: first, chunks: p.chunks, md5: p.etag };
    first += p.chunks;
    return part;
  });
}

/** Object bytes of one chunk, from its data shards (rebuilt from parity where needed). */
async function* chunkBytes(io: ShardIo, record: ObjectRecord, chunkIndex: number): AsyncGenerator<Buffer> {
  const chunk = record.chunks[chunkIndex] as ChunkRecord;
  const dataShards = Array.from({ length: chunk.k }, (_, j) => j);
  const { shards } = await readShards(io, record, chunkIndex, dataShards);
  const g = makeGeometry(
    { k: chunk.k, m: chunk.m },
    { segmentSize: record.segmentSize, maxChunkSize: Math.max(record.chunkSize, chunk.length) },
  );
  for (let s = 0; s < stripeCount(g, chunk.length); s++) {
    const layout = stripeLayout(g, chunk.length, s);
    const stripe = Buffer.concat(dataShards.map((j) => (shards.get(j) as Buffer[])[s] as Buffer));
    yield stripe.subarray(0, layout.logicalLength);
  }
}

async function* partBytes(
  io: ShardIo,
  record: ObjectRecord,
  first: number,
  count: number,
): AsyncGenerator<Buffer> {
  for (let c = first; c < first + count; c++) yield* chunkBytes(io, record, c);
}

export function migrationGeometry(record: ObjectRecord, scheme: RsScheme, maxChunkSize: number): Geometry {
  return makeGeometry(scheme, { segmentSize: record.segmentSize, maxChunkSize });
}

export async function migrateObject(env: MigrateEnv, obj: StoredObject): Promise<MigrateOutcome> {
  const { db, io } = env;
  const { record } = obj;
  const g = migrationGeometry(record, env.scheme, env.maxChunkSize);
  const { k, m } = env.scheme;
  const width = k + m;
  const parts = partsOf(record);
  // Placement of every new chunk, known before anything is written.
  const dataId = newVersionId();
  const dataHex = dataId.toString('hex');
  const plannedChunks: { part: number; length: number; nodes: string[] }[] = [];
  parts.forEach((part, p) => {
    for (const layout of chunkLayouts(g, part.size))
      plannedChunks.push({
        part: p,
        length: layout.length,
        nodes: env.ring.placeChunk(obj.bucket, obj.key, plannedChunks.length, width),
      });
  });
  const newShards: ShardRef[] = plannedChunks.flatMap((chunk, c) =>
    chunk.nodes.map((node, shardIndex) => ({ chunkIndex: c, shardIndex, node })),
  );
  const pending: GarbageRecord = {
    v: 1,
    versionId: dataHex,
    reason: 'rebalance',
    created: Date.now(),
    notBefore: Date.now() + (env.pendingMs ?? 3_600_000),
    attempts: 0,
    shards: newShards,
  };
  const pendingKey = garbageKey(dataId);
  const pendingValue = encodeGarbageRecord(pending);
  await db.batch([], [{ kind: 'put', table: TABLES.garbage, key: pendingKey, value: pendingValue }]);
  const dropNew = async (): Promise<void> => {
    const left = [];
    for (const ref of newShards)
      if (
        !(await dropShard(io, ref.node, {
          versionId: dataId,
          chunkIndex: ref.chunkIndex,
          shardIndex: ref.shardIndex,
        }))
      )
        left.push(ref);
    // What could not be deleted stays in the garbage record, now due.
    await db
      .batch(
        [{ kind: 'valueEquals', table: TABLES.garbage, key: pendingKey, value: pendingValue }],
        left.length === 0
          ? [{ kind: 'delete', table: TABLES.garbage, key: pendingKey }]
          : [
              {
                kind: 'put',
                table: TABLES.garbage,
                key: pendingKey,
                value: encodeGarbageRecord({ ...pending, notBefore: 0, shards: left }),
              },
            ],
      )
      .catch(() => undefined);
  };

  let bytes = 0;
  const chunks: ChunkRecord[] = [];
  try {
    const codec = new ReedSolomonCodec(env.scheme);
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p] as (typeof parts)[number];
      const base = chunks.length;
      const encoder = new ObjectEncoder({
        geometry: g,
        codec,
        expectedSize: part.size,
        maxChunksInFlight: 1,
        maxStripesInFlight: 8,
      });
      let segments: Buffer[][] = [];
      for await (const stripe of encoder.encode(partBytes(io, record, part.firstChunk, part.chunks))) {
        if (stripe.stripeIndex === 0) segments = Array.from({ length: width }, () => []);
        stripe.segments.forEach((segment, j) => (segments[j] as Buffer[]).push(Buffer.from(segment)));
        stripe.release();
        if (!stripe.lastInChunk) continue;
        const c = base + stripe.chunkIndex;
        const planned = plannedChunks[c];
        if (planned === undefined || planned.length !== stripe.chunk?.length)
          throw new ShardMoveError(`re-encoded chunk ${c} does not match its planned layout`);
        const written = await Promise.all(
          planned.nodes.map((node, j) =>
            writeShard(
              io,
              node,
              { versionId: dataId, chunkIndex: c, shardIndex: j },
              env.scheme,
              segments[j] as Buffer[],
            ),
          ),
        );
        bytes += written.reduce((n, b) => n + b, 0);
        chunks.push({
          length: planned.length,
          k,
          m,
          epoch: env.ring.epoch,
          nodes: planned.nodes,
          data: { versionId: dataHex, chunkIndex: c },
        });
      }
      const md5 = encoder.result().md5Hex;
      if (part.md5 !== undefined && md5 !== part.md5)
        throw new ShardMoveError(`part ${p + 1} read back with MD5 ${md5}, the record says ${part.md5}`);
    }
    if (chunks.length !== plannedChunks.length)
      throw new ShardMoveError(`wrote ${chunks.length} chunks, planned ${plannedChunks.length}`);
  } catch (error) {
    await dropNew();
    return { kind: 'failed', error: error instanceof Error ? error.message : String(error) };
  }

  const next: ObjectRecord = {
    ...record,
    chunkSize: g.chunkSize,
    chunks,
    ...(record.parts === undefined
      ? {}
      : {
          parts: record.parts.map((part, p) => ({
            ...part,
            chunks: plannedChunks.filter((c) => c.part === p).length,
          })),
        }),
  };
  const oldShards = shardsOf(record);
  const oldGarbage: GarbageRecord = {
    v: 1,
    versionId: record.versionId,
    reason: 'rebalance',
    created: Date.now(),
    notBefore: (env.readGraceMs ?? 0) > 0 ? Date.now() + (env.readGraceMs ?? 0) : 0,
    attempts: 0,
    shards: oldShards,
  };
  const oldKey = garbageKey(Buffer.from(record.versionId, 'hex'));
  const recordKey = objectKey(obj.bucket, obj.key);
  const r = await db.batch(
    [
      { kind: 'versionEquals', table: TABLES.objects, key: recordKey, version: obj.version },
      { kind: 'valueEquals', table: TABLES.garbage, key: pendingKey, value: pendingValue },
    ],
    [
      { kind: 'put', table: TABLES.objects, key: recordKey, value: encodeObjectRecord(next) },
      { kind: 'delete', table: TABLES.garbage, key: pendingKey },
      { kind: 'put', table: TABLES.garbage, key: oldKey, value: encodeGarbageRecord(oldGarbage) },
    ],
  );
  if (!r.ok) {
    await dropNew();
    return { kind: 'changed' };
  }
  if ((env.readGraceMs ?? 0) > 0)
    return { kind: 'migrated', bytes, chunks: chunks.length, oldLeft: oldShards.length };
  let oldLeft = 0;
  for (const ref of oldShards) {
    const id = Buffer.from(ref.versionId ?? record.versionId, 'hex');
    if (
      !(await dropShard(io, ref.node, {
        versionId: id,
        chunkIndex: ref.chunkIndex,
        shardIndex: ref.shardIndex,
      }))
    )
      oldLeft++;
  }
  if (oldLeft === 0) await db.delete(TABLES.garbage, oldKey).catch(() => undefined);
  return { kind: 'migrated', bytes, chunks: chunks.length, oldLeft };
}
