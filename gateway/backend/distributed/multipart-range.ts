// Range planning over an object record whose chunks may have different lengths (multipart manifests:
// each part is cut into chunks on its own). A range maps to the chunks it touches through the chunks'
// recorded lengths, then to segments inside each chunk exactly as for a single-PUT object. For records
// with uniform chunks the plan equals shared/datapath's planRange.
import { DataPathError, planChunkRange } from '../../../shared/datapath/index.ts';
import type { ChunkRangePlan, Geometry, InclusiveRange, RangePlan } from '../../../shared/datapath/index.ts';

/** Offset of each chunk's first byte in the object (chunk lengths in record order). */
export function chunkOffsets(lengths: readonly number[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const length of lengths) {
    offsets.push(at);
    at += length;
  }
  return offsets;
}

/** First index i with offsets[i] + lengths[i] > position (binary search over increasing offsets). */
function chunkAt(offsets: readonly number[], lengths: readonly number[], position: number): number {
  let lo = 0;
  let hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((offsets[mid] as number) + (lengths[mid] as number) <= position) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function planRecordRange(
  g: Geometry,
  record: { size: number; chunks: readonly { length: number }[] },
  range?: InclusiveRange,
): RangePlan {
  const size = record.size;
  const first = range?.start ?? 0;
  const last = range?.end ?? size - 1;
  if (
    range !== undefined &&
    (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 0 || last < first || last >= size)
  )
    throw new DataPathError('BAD_RANGE', `range ${first}-${last} is not inside a ${size}-byte object`);
  if (size === 0) return { offset: 0, length: 0, chunks: [] };
  const lengths = record.chunks.map((c) => c.length);
  const offsets = chunkOffsets(lengths);
  const plans: ChunkRangePlan[] = [];
  for (let c = chunkAt(offsets, lengths, first); c < lengths.length; c++) {
    const offset = offsets[c] as number;
    if (offset > last) break;
    const length = lengths[c] as number;
    const from = Math.max(first, offset) - offset;
    const to = Math.min(last, offset + length - 1) - offset;
    plans.push(planChunkRange(g, c, length, from, to));
  }
  return { offset: first, length: last - first + 1, chunks: plans };
}
