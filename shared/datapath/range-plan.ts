// Which segments a byte range needs, and how to cut the exact bytes out of them.
//
// Inside a stripe the object bytes run through data segment 0, then 1, … (each segmentLength
// long), so a range touches, per chunk, a run of stripes; on data shard j it needs one contiguous
// run of segment indexes (= stripe indexes). Parity shards are read only when a stripe must be rebuilt.
import { DataPathError } from './errors.ts';
import { chunkCount, chunkLayout, stripeLayout } from './geometry.ts';
import type { Geometry } from './geometry.ts';

/** Inclusive byte range, as HTTP Range and the gateway's ByteRange express it. */
export interface InclusiveRange {
  readonly start: number;
  readonly end: number;
}

/** Read `segmentCount` segments starting at segment `firstSegment` from shard `shardIndex`. */
export interface ShardFetch {
  readonly shardIndex: number;
  readonly firstSegment: number;
  readonly segmentCount: number;
}

/** Bytes [start, end) of segment `stripeIndex` of shard `shardIndex`. */
export interface SegmentSlice {
  readonly shardIndex: number;
  readonly stripeIndex: number;
  readonly start: number;
  readonly end: number;
}

export interface ChunkRangePlan {
  readonly chunkIndex: number;
  readonly chunkLength: number;
  /** Stripes the range touches in this chunk, inclusive. */
  readonly firstStripe: number;
  readonly lastStripe: number;
  /** Data shards to read, in shard order; never an empty fetch. */
  readonly fetches: readonly ShardFetch[];
  /** In output order: concatenated, they are exactly this chunk's part of the range. */
  readonly slices: readonly SegmentSlice[];
}

export interface RangePlan {
  /** First byte and length of the range in the object (length 0: nothing to read). */
  readonly offset: number;
  readonly length: number;
  readonly chunks: readonly ChunkRangePlan[];
}

/** Plans reading `range` (inclusive; undefined = the whole object) of an object of `objectSize` bytes. */
export function planRange(g: Geometry, objectSize: number, range?: InclusiveRange): RangePlan {
  const chunks = chunkCount(g, objectSize);
  const first = range?.start ?? 0;
  const last = range?.end ?? objectSize - 1;
  if (range !== undefined) {
    if (
      !Number.isSafeInteger(first) ||
      !Number.isSafeInteger(last) ||
      first < 0 ||
      last < first ||
      last >= objectSize
    ) {
      throw new DataPathError(
        'BAD_RANGE',
        `range ${first}-${last} is not inside a ${objectSize}-byte object`,
      );
    }
  }
  if (objectSize === 0) return { offset: 0, length: 0, chunks: [] };
  const plans: ChunkRangePlan[] = [];
  const firstChunk = Math.floor(first / g.chunkSize);
  const lastChunk = Math.min(chunks - 1, Math.floor(last / g.chunkSize));
  for (let c = firstChunk; c <= lastChunk; c++) {
    const chunk = chunkLayout(g, objectSize, c);
    const from = Math.max(first, chunk.objectOffset) - chunk.objectOffset;
    const to = Math.min(last, chunk.objectOffset + chunk.length - 1) - chunk.objectOffset;
    plans.push(planChunkRange(g, c, chunk.length, from, to));
  }
  return { offset: first, length: last - first + 1, chunks: plans };
}

/** Plans bytes `from`..`to` (inclusive, chunk offsets) of one chunk. */
export function planChunkRange(
  g: Geometry,
  chunkIndex: number,
  chunkLength: number,
  from: number,
  to: number,
): ChunkRangePlan {
  const { k } = g.scheme;
  const firstStripe = Math.floor(from / g.stripeDataSize);
  const lastStripe = Math.floor(to / g.stripeDataSize);
  const slices: SegmentSlice[] = [];
  const firstByShard = new Array<number>(k).fill(-1);
  const lastByShard = new Array<number>(k).fill(-1);
  for (let s = firstStripe; s <= lastStripe; s++) {
    const stripe = stripeLayout(g, chunkLength, s);
    const lo = Math.max(from, stripe.chunkOffset) - stripe.chunkOffset;
    const hi = Math.min(to, stripe.chunkOffset + stripe.logicalLength - 1) - stripe.chunkOffset;
    const L = stripe.segmentLength;
    for (let j = Math.floor(lo / L); j <= Math.floor(hi / L); j++) {
      slices.push({
        shardIndex: j,
        stripeIndex: s,
        start: Math.max(lo, j * L) - j * L,
        end: Math.min(hi, j * L + L - 1) - j * L + 1,
      });
      if (firstByShard[j] === -1) firstByShard[j] = s;
      lastByShard[j] = s;
    }
  }
  const fetches: ShardFetch[] = [];
  for (let j = 0; j < k; j++) {
    const a = firstByShard[j] as number;
    if (a !== -1)
      fetches.push({ shardIndex: j, firstSegment: a, segmentCount: (lastByShard[j] as number) - a + 1 });
  }
  return { chunkIndex, chunkLength, firstStripe, lastStripe, fetches, slices };
}

/**
 * Cuts a chunk plan into plans of at most `stripes` stripes each, in order: the same slices, split by
 * stripe, with each window's fetches recomputed (per data shard, the run of stripes it is needed for).
 * Reading window by window bounds what a GET holds per chunk to a few stripes instead of the chunk.
 */
export function windowChunkPlan(plan: ChunkRangePlan, stripes: number): ChunkRangePlan[] {
  if (!Number.isSafeInteger(stripes) || stripes < 1) {
    throw new DataPathError('BAD_OPTIONS', `a read window needs at least one stripe, got ${stripes}`);
  }
  if (plan.lastStripe - plan.firstStripe < stripes) return [plan];
  const windows: ChunkRangePlan[] = [];
  let slices: SegmentSlice[] = [];
  let windowOf = -1;
  const flush = (): void => {
    if (slices.length === 0) return;
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    for (const slice of slices) {
      if (!first.has(slice.shardIndex)) first.set(slice.shardIndex, slice.stripeIndex);
      last.set(slice.shardIndex, slice.stripeIndex);
    }
    const fetches = [...first.keys()]
      .sort((a, b) => a - b)
      .map((shardIndex) => {
        const a = first.get(shardIndex) as number;
        return { shardIndex, firstSegment: a, segmentCount: (last.get(shardIndex) as number) - a + 1 };
      });
    windows.push({
      chunkIndex: plan.chunkIndex,
      chunkLength: plan.chunkLength,
      firstStripe: (slices[0] as SegmentSlice).stripeIndex,
      lastStripe: (slices[slices.length - 1] as SegmentSlice).stripeIndex,
      fetches,
      slices,
    });
    slices = [];
  };
  for (const slice of plan.slices) {
    const w = Math.floor((slice.stripeIndex - plan.firstStripe) / stripes);
    if (w !== windowOf) {
      flush();
      windowOf = w;
    }
    slices.push(slice);
  }
  flush();
  return windows;
}

/**
 * The bytes of a chunk plan, in order, as views into the segments `segmentOf` returns (data
 * segments as stored or as rebuilt by decodeStripe's `dataSegments`).
 */
export function sliceChunk(
  plan: ChunkRangePlan,
  segmentOf: (shardIndex: number, stripeIndex: number) => Uint8Array,
): Buffer[] {
  return plan.slices.map(({ shardIndex, stripeIndex, start, end }) => {
    const segment = segmentOf(shardIndex, stripeIndex);
    if (segment.length < end) {
      throw new DataPathError(
        'TOO_FEW_SEGMENTS',
        `segment ${stripeIndex} of shard ${shardIndex} has ${segment.length} bytes, need ${end}`,
      );
    }
    return Buffer.from(segment.buffer, segment.byteOffset + start, end - start);
  });
}

/**
 * Fetches for a degraded read of one chunk plan when the shards in `unavailable` cannot be read
 * (node down, timeout, CRC failures): k readable shards, data shards first, each for every stripe
 * of the plan. Decode each stripe with decodeStripe, then slice its data segments with sliceChunk.
 */
export function degradedFetches(
  plan: ChunkRangePlan,
  scheme: { readonly k: number; readonly m: number },
  unavailable: ReadonlySet<number>,
): ShardFetch[] {
  const readable = Array.from({ length: scheme.k + scheme.m }, (_, i) => i).filter(
    (i) => !unavailable.has(i),
  );
  if (readable.length < scheme.k) {
    throw new DataPathError(
      'TOO_FEW_SEGMENTS',
      `chunk ${plan.chunkIndex}: only ${readable.length} of ${scheme.k + scheme.m} shards readable, RS(${scheme.k},${scheme.m}) needs ${scheme.k}`,
    );
  }
  const segmentCount = plan.lastStripe - plan.firstStripe + 1;
  return readable
    .slice(0, scheme.k)
    .map((shardIndex) => ({ shardIndex, firstSegment: plan.firstStripe, segmentCount }));
}
