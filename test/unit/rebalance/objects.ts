// Builds erasure-coded objects on FakeShards (records as the gateway writes them) and reads them back.
import { randomBytes } from 'node:crypto';
import { ObjectEncoder, makeGeometry } from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, encodeObjectRecord } from '../../../shared/metadata/records.ts';
import type { ChunkRecord, ObjectRecord } from '../../../shared/metadata/records.ts';
import type { HashRing } from '../../../shared/ring/index.ts';
import { makeGeometry as geometryFor, stripeCount, stripeLayout } from '../../../shared/datapath/index.ts';
import { readShards } from '../../../appliance/maintenance/rebalance/shard-io.ts';
import type { ShardIo } from '../../../appliance/maintenance/rebalance/shard-io.ts';
import type { FakeDb, FakeShards } from './fakes.ts';
import { createHash } from 'node:crypto';

export const SMALL = (k: number, m: number): Geometry =>
  makeGeometry({ k, m }, { segmentSize: 64, maxChunkSize: 1024 });

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

/** Encodes `data` with `g`, stores the shards where `ring` places them and the record in `db`. */
export async function putObject(
  db: FakeDb,
  shards: FakeShards,
  ring: HashRing,
  bucket: string,
  key: string,
  data: Buffer,
  g: Geometry,
): Promise<ObjectRecord> {
  const versionId = randomBytes(16);
  const { k, m } = g.scheme;
  const encoder = new ObjectEncoder({ geometry: g, expectedSize: data.length });
  const chunks: ChunkRecord[] = [];
  let segments: Buffer[][] = [];
  for await (const stripe of encoder.encode(once(data))) {
    if (stripe.stripeIndex === 0) segments = Array.from({ length: k + m }, () => []);
    stripe.segments.forEach((s, j) => segments[j]!.push(Buffer.from(s)));
    stripe.release();
    if (!stripe.lastInChunk) continue;
    const nodes = ring.placeChunk(bucket, key, stripe.chunkIndex, k + m);
    for (let j = 0; j < k + m; j++)
      await shards.putShard(
        { host: `node-${nodes[j]}`, port: 1 },
        { versionId, chunkIndex: stripe.chunkIndex, shardIndex: j },
        { rsData: k, rsParity: m },
        segments[j]!,
      );
    chunks.push({ length: stripe.chunk!.length, k, m, epoch: ring.epoch, nodes });
  }
  const record: ObjectRecord = {
    v: 1,
    versionId: versionId.toString('hex'),
    size: data.length,
    etag: createHash('md5').update(data).digest('hex'),
    lastModified: 1,
    meta: { contentType: 'application/octet-stream', userMetadata: {} },
    segmentSize: g.segmentSize,
    chunkSize: g.chunkSize,
    chunks,
  };
  await db.put(TABLES.objects, objectKey(bucket, key), encodeObjectRecord(record));
  return record;
}

export async function getRecord(
  db: FakeDb,
  bucket: string,
  key: string,
): Promise<{ record: ObjectRecord; version: number }> {
  const got = await db.get(TABLES.objects, objectKey(bucket, key));
  if (got === undefined) throw new Error(`${bucket}/${key} is gone`);
  return { record: decodeObjectRecord(got.value), version: got.version };
}

/** The object's bytes, read from the data shards its record names (rebuilt where one is missing). */
export async function readBack(io: ShardIo, record: ObjectRecord): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let c = 0; c < record.chunks.length; c++) {
    const chunk = record.chunks[c]!;
    const wanted = Array.from({ length: chunk.k }, (_, j) => j);
    const { shards } = await readShards(io, record, c, wanted);
    const g = geometryFor(
      { k: chunk.k, m: chunk.m },
      { segmentSize: record.segmentSize, maxChunkSize: Math.max(record.chunkSize, chunk.length) },
    );
    for (let s = 0; s < stripeCount(g, chunk.length); s++)
      out.push(
        Buffer.concat(wanted.map((j) => shards.get(j)![s]!)).subarray(
          0,
          stripeLayout(g, chunk.length, s).logicalLength,
        ),
      );
  }
  return Buffer.concat(out);
}
