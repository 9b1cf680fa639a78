// GET data path: a range plan over the object's recorded chunks; per chunk, only the segments the
// range needs from the k data shards; on a failed shard (CRC mismatch, timeout, unreachable, missing)
// the stripes are rebuilt from k readable shards, parity included. Each chunk is read in windows of a
// few stripes (readWindowStripes), a bounded number of windows ahead of the consumer, each shard's run
// of segments received into one buffer: memory is a few windows, never a chunk. Each window reaches the
// consumer as ONE buffer (its slices gathered in object order): the HTTP response then makes one write
// per window instead of one per 64 KiB segment, and the shards' receive buffers, which never leave this
// module, are reused for the next windows instead of being allocated per request.
import type { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { FetchedShard } from '../../../shared/shard-client/index.ts';
import { decodeStripe, makeGeometry, sliceChunk, windowChunkPlan } from '../../../shared/datapath/index.ts';
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
  const windowStripes = ctx.readWindowStripes ?? DEFAULT_READ_WINDOW_STRIPES;
  const ahead = Math.max(1, ctx.readWindowsAhead ?? DEFAULT_READ_WINDOWS_AHEAD);
  const windows = plan.chunks.flatMap((chunkPlan) => windowChunkPlan(chunkPlan, windowStripes));
  // Shards found unreadable in one window of a chunk are not tried again in its later windows.
  const unreadableShards = new Map<number, Set<number>>();
  const reported = new Set<string>();
  const onIssue = (issue: ReadIssue): void => {
    const id = `${issue.chunkIndex}:${issue.shards.join(',')}:${issue.reason}`;
    if (reported.has(id)) return;
    reported.add(id);
    options.onIssue?.(issue);
  };
  const receive = new ReceiveBuffers(ahead * (geometry.scheme.k + geometry.scheme.m));
  const read = (i: number): Promise<Buffer> => {
    const windowPlan = windows[i] as ChunkRangePlan;
    const location = shardLocation(record, windowPlan.chunkIndex);
    let known = unreadableShards.get(windowPlan.chunkIndex);
    if (known === undefined) unreadableShards.set(windowPlan.chunkIndex, (known = new Set()));
    const promise = readChunk(
      ctx,
      schemes.codec(windowPlan.chunkIndex),
      { versionId: Buffer.from(location.versionId, 'hex'), chunkIndex: location.chunkIndex },
      record.chunks[windowPlan.chunkIndex] as ChunkRecord,
      windowPlan,
      onIssue,
      record.segmentSize,
      known,
      receive,
    );
    promise.catch(() => undefined);
    return promise;
  };
  // Windows in flight, in order; the first settles `first`, so a read that cannot start fails early.
  const inFlight: Promise<Buffer>[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < windows.length && inFlight.length < ahead) inFlight.push(read(next++));
  };
  fill();
  const first = (inFlight[0] ?? Promise.resolve(undefined)).then(() => undefined);
  async function* body(): AsyncGenerator<Buffer> {
    while (inFlight.length > 0) {
      const current = await (inFlight.shift() as Promise<Buffer>);
      fill();
      if (current.length > 0) yield current;
    }
  }
  return { first, body: body() };
}

/**
 * Receive buffers of one read, reused from window to window. A buffer goes back only after its fetch
 * succeeded and its bytes were copied out (a failed or timed-out fetch's buffer is dropped: the transport
 * might still be writing into it), so no byte handed to the consumer ever aliases one.
 */
export class ReceiveBuffers {
  private readonly free: Buffer[] = [];
  constructor(private readonly keep: number) {}

  take(size: number): Buffer {
    const at = this.free.findIndex((b) => b.length === size);
    if (at === -1) return Buffer.allocUnsafeSlow(size);
    return this.free.splice(at, 1)[0] as Buffer;
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Stripes per GET read window: 32 × 64 KiB = 2 MiB per data shard request. */
export const DEFAULT_READ_WINDOW_STRIPES = 32;
/** Windows fetched ahead of the consumer (the one being sent included). */
export const DEFAULT_READ_WINDOWS_AHEAD = 2;

async function readChunk(
  ctx: DataPathContext,
  codec: ReedSolomonCodec,
  stored: { versionId: Buffer; chunkIndex: number },
  chunk: ChunkRecord,
  plan: ChunkRangePlan,
  onIssue: ObjectReadOptions['onIssue'],
  segmentSize: number,
  knownUnreadable: Set<number> = new Set(),
  receive: ReceiveBuffers = new ReceiveBuffers(0),
): Promise<Buffer> {
  const { k, m } = chunk;
  // Receive buffers of the fetches that succeeded: reusable once the window is gathered.
  const filled: Buffer[] = [];
  const fetch = (shardIndex: number, firstSegment: number, segmentCount: number): Promise<FetchedShard> => {
    const node = chunk.nodes[shardIndex] as string;
    const peer = ctx.peers.get(node);
    if (peer === undefined) return Promise.reject(new Error(`appliance ${node} is not in the config`));
    const into = receive.take(segmentCount * segmentSize);
    return ctx.shards
      .fetchShard(
        peer,
        { versionId: stored.versionId, chunkIndex: stored.chunkIndex, shardIndex },
        { firstSegment, segmentCount },
        {
          timeoutMs: timeoutFor(ctx.readTimeoutMs, segmentCount * segmentSize, ctx.minBytesPerMs),
          // One buffer per request instead of one per segment; the response holds views of it.
          into,
        },
      )
      .then((fetched) => {
        filled.push(into);
        return fetched;
      });
  };
  const gather = (slices: Buffer[]): Buffer => {
    const window = Buffer.concat(slices);
    for (const buffer of filled.splice(0)) receive.give(buffer);
    return window;
  };
  const unavailable = new Set<number>(knownUnreadable);
  let corrupt = false;
  // Fast path: the segments the range needs, from the data shards only (skipped when one of them is
  // already known unreadable in this chunk).
  const fast = plan.fetches.some((f) => unavailable.has(f.shardIndex))
    ? plan.fetches.map(() => ({ status: 'rejected', reason: undefined }) as PromiseRejectedResult)
    : await Promise.allSettled(plan.fetches.map((f) => fetch(f.shardIndex, f.firstSegment, f.segmentCount)));
  fast.forEach((r, i) => {
    if (r.status === 'rejected' && r.reason !== undefined) {
      const shardIndex = (plan.fetches[i] as { shardIndex: number }).shardIndex;
      unavailable.add(shardIndex);
      knownUnreadable.add(shardIndex);
      if ((r.reason as { code?: string }).code === 'CORRUPT') corrupt = true;
    }
  });
  if (fast.every((r) => r.status === 'fulfilled')) {
    const byShard = new Map<number, FetchedShard>();
    fast.forEach((r, i) =>
      byShard.set(
        (plan.fetches[i] as { shardIndex: number }).shardIndex,
        (r as PromiseFulfilledResult<FetchedShard>).value,
      ),
    );
    return gather(
      sliceChunk(plan, (j, s) => {
        const got = byShard.get(j) as FetchedShard;
        return got.segments[s - got.firstSegment] as Buffer;
      }),
    );
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
        knownUnreadable.add(j);
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
  return gather(sliceChunk(plan, (j, s) => rebuilt[s - firstStripe]?.dataSegments[j] as Buffer));
}
