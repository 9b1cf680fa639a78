// GET data path: a range plan over the object's recorded chunks; per chunk, only the segments the
// range needs from the k data shards; on a failed shard (CRC mismatch, timeout, unreachable, missing)
// the stripes are rebuilt from k readable shards, parity included. Chunks are read one ahead of the
// consumer (bounded memory: the chunk being sent and the next one).
import type { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { FetchedShard } from '../../../shared/shard-client/index.ts';
import { decodeStripe, makeGeometry, sliceChunk } from '../../../shared/datapath/index.ts';
import { chunkSchemes, planRecordRange } from './multipart-range.ts';
import type { ChunkRangePlan, Geometry, InclusiveRange } from '../../../shared/datapath/index.ts';
import { S3Error } from '../../errors.ts';
import { timeoutFor } from './context.ts';
import type { DataPathContext } from './context.ts';
import { readSet } from './quorum.ts';
import { inlineBytes, readInline } from './inline.ts';
import type { ChunkRecord, ObjectRecord } from '../../../shared/metadata/records.ts';
import { shardLocation } from '../../../shared/metadata/records.ts';

export interface ReadIssue {
  chunkIndex: number;
  shards: number[];
  reason: 'read-failed' | 'corrupt';
}

export interface ObjectReadOptions {
  range?: InclusiveRange;
  /** Told about shards that could not be read, once per chunk (the caller queues a read-repair). */
  onIssue?: (issue: ReadIssue) => void;
}

export function geometryOf(record: Pick<ObjectRecord, 'chunks' | 'segmentSize' | 'chunkSize'>): Geometry {
  const first = record.chunks[0];
  const scheme = first === undefined ? { k: 1, m: 0 } : { k: first.k, m: first.m };
  return makeGeometry(scheme, { segmentSize: record.segmentSize, maxChunkSize: record.chunkSize });
}

export function unreadable(chunkIndex: number, readable: number, k: number, m: number): S3Error {
  return new S3Error(
    'ServiceUnavailable',
    `Chunk ${chunkIndex} of the object cannot be read right now: ${readable} of ${k + m} shards are readable, ${k} are needed. Please retry later.`,
    503,
  );
}

/**
 * Reads an object (or a range). `first` settles once the first chunk's bytes are in hand, so a read
 * that cannot start fails before any response header is sent.
 */
export function readObject(
  ctx: DataPathContext,
  record: ObjectRecord,
  options: ObjectReadOptions = {},
): { first: Promise<void>; body: AsyncIterable<Buffer> } {
  if (record.size === 0) return { first: Promise.resolve(), body: (async function* () {})() };
  const inline = inlineBytes(record);
  if (inline !== undefined) return readInline(inline, options.range);
  const geometry = geometryOf(record);
  // Through the recorded chunk lengths: multipart manifests have chunks of varying length.
  // Per chunk scheme too: a manifest's parts may differ in RS scheme.
  const schemes = chunkSchemes(record);
  const plan = planRecordRange(geometry, record, options.range, schemes.geometry);
  const read = (i: number): Promise<Buffer[]> => {
    const chunkPlan = plan.chunks[i] as ChunkRangePlan;
    const location = shardLocation(record, chunkPlan.chunkIndex);
    const promise = readChunk(
      ctx,
      schemes.codec(chunkPlan.chunkIndex),
      { versionId: Buffer.from(location.versionId, 'hex'), chunkIndex: location.chunkIndex },
      record.chunks[chunkPlan.chunkIndex] as ChunkRecord,
      chunkPlan,
      options.onIssue,
      record.segmentSize,
    );
    promise.catch(() => undefined);
    return promise;
  };
  let pending = plan.chunks.length > 0 ? read(0) : Promise.resolve<Buffer[]>([]);
  const first = pending.then(() => undefined);
  async function* body(): AsyncGenerator<Buffer> {
    for (let i = 0; i < plan.chunks.length; i++) {
      const current = await pending;
      if (i + 1 < plan.chunks.length) pending = read(i + 1);
      yield* current;
    }
  }
  return { first, body: body() };
}

async function readChunk(
  ctx: DataPathContext,
  codec: ReedSolomonCodec,
  stored: { versionId: Buffer; chunkIndex: number },
  chunk: ChunkRecord,
  plan: ChunkRangePlan,
  onIssue: ObjectReadOptions['onIssue'],
  segmentSize: number,
): Promise<Buffer[]> {
  const { k, m } = chunk;
  const fetch = (shardIndex: number, firstSegment: number, segmentCount: number): Promise<FetchedShard> => {
    const node = chunk.nodes[shardIndex] as string;
    const peer = ctx.peers.get(node);
    if (peer === undefined) return Promise.reject(new Error(`appliance ${node} is not in the config`));
    return ctx.shards.fetchShard(
      peer,
      { versionId: stored.versionId, chunkIndex: stored.chunkIndex, shardIndex },
      { firstSegment, segmentCount },
      { timeoutMs: timeoutFor(ctx.readTimeoutMs, segmentCount * segmentSize, ctx.minBytesPerMs) },
    );
  };
  // Fast path: the segments the range needs, from the data shards only.
  const fast = await Promise.allSettled(
    plan.fetches.map((f) => fetch(f.shardIndex, f.firstSegment, f.segmentCount)),
  );
  const unavailable = new Set<number>();
  let corrupt = false;
  fast.forEach((r, i) => {
    if (r.status === 'rejected') {
      unavailable.add((plan.fetches[i] as { shardIndex: number }).shardIndex);
      if ((r.reason as { code?: string }).code === 'CORRUPT') corrupt = true;
    }
  });
  if (unavailable.size === 0) {
    const byShard = new Map<number, FetchedShard>();
    fast.forEach((r, i) =>
      byShard.set(
        (plan.fetches[i] as { shardIndex: number }).shardIndex,
        (r as PromiseFulfilledResult<FetchedShard>).value,
      ),
    );
    return sliceChunk(plan, (j, s) => {
      const got = byShard.get(j) as FetchedShard;
      return got.segments[s - got.firstSegment] as Buffer;
    });
  }
  // Degraded: whole stripes from k readable shards, parity included, then rebuild.
  const firstStripe = plan.firstStripe;
  const stripeCount = plan.lastStripe - plan.firstStripe + 1;
  const full = new Map<number, FetchedShard>();
  for (let round = 0; round <= m; round++) {
    const set = readSet(k, m, unavailable);
    if (set === undefined) {
      onIssue?.({
        chunkIndex: plan.chunkIndex,
        shards: [...unavailable].sort((a, b) => a - b),
        reason: corrupt ? 'corrupt' : 'read-failed',
      });
      throw unreadable(plan.chunkIndex, k + m - unavailable.size, k, m);
    }
    const wanted = set.filter((j) => !full.has(j));
    const results = await Promise.allSettled(wanted.map((j) => fetch(j, firstStripe, stripeCount)));
    results.forEach((r, i) => {
      const j = wanted[i] as number;
      if (r.status === 'fulfilled' && r.value.segments.length === stripeCount) full.set(j, r.value);
      else {
        unavailable.add(j);
        if (r.status === 'rejected' && (r.reason as { code?: string }).code === 'CORRUPT') corrupt = true;
      }
    });
    if (set.every((j) => full.has(j))) break;
  }
  const set = readSet(k, m, unavailable);
  if (set === undefined || !set.every((j) => full.has(j))) throw unreadable(plan.chunkIndex, full.size, k, m);
  onIssue?.({
    chunkIndex: plan.chunkIndex,
    shards: [...unavailable].sort((a, b) => a - b),
    reason: corrupt ? 'corrupt' : 'read-failed',
  });
  const rebuilt = await Promise.all(
    Array.from({ length: stripeCount }, (_, s) => {
      const slots = Array.from({ length: k + m }, (_, j) => full.get(j)?.segments[s]);
      const length = (slots.find((x) => x !== undefined) as Buffer).length;
      return decodeStripe({
        codec,
        layout: { logicalLength: k * length, segmentLength: length },
        segments: slots,
      });
    }),
  );
  return sliceChunk(plan, (j, s) => rebuilt[s - firstStripe]?.dataSegments[j] as Buffer);
}
