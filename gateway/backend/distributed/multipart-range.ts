// Range planning over an object record whose chunks may have different lengths (multipart manifests:
// each part is cut into chunks on its own). A range maps to the chunks it touches through the chunks'
// recorded lengths, then to segments inside each chunk exactly as for a single-PUT object. For records
// with uniform chunks the plan equals shared/datapath's planRange.
import { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import { DataPathError, makeGeometry, planChunkRange } from '../../../shared/datapath/index.ts';
import type { ChunkRangePlan, Geometry, InclusiveRange, RangePlan } from '../../../shared/datapath/index.ts';

/**
 * Per-chunk geometry and codec: a manifest's parts may have been written with different RS schemes
 * (the cluster's scheme changed during the upload). One instance per scheme, made on first use.
 */
export function chunkSchemes(record: {
  segmentSize: number;
  chunkSize: number;
  chunks: readonly { k: number; m: number }[];
}): { geometry(chunkIndex: number): Geometry; codec(chunkIndex: number): ReedSolomonCodec } {
  const made = new Map<string, { geometry: Geometry; codec?: ReedSolomonCodec }>();
  const entry = (chunkIndex: number): { geometry: Geometry; codec?: ReedSolomonCodec } => {
    const chunk = record.chunks[chunkIndex];
    if (chunk === undefined) throw new DataPathError('BAD_RANGE', `chunk ${chunkIndex} is not in the record`);
    const name = `${chunk.k},${chunk.m}`;
    let found = made.get(name);
    if (found === undefined) {
      const scheme = { k: chunk.k, m: chunk.m };
      found = {
        geometry: makeGeometry(scheme, { segmentSize: record.segmentSize, maxChunkSize: record.chunkSize }),
      };
      made.set(name, found);
    }
    return found;
  };
  return {
    geometry: (i) => entry(i).geometry,
    codec: (i) => {
      const found = entry(i);
      found.codec ??= new ReedSolomonCodec(found.geometry.scheme);
      return found.codec;
    },
  };
}

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
  /** Geometry of chunk i when chunks differ in RS scheme (default: `g` for every chunk). */
  geometryOf?: (chunkIndex: number) => Geometry,
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
    plans.push(planChunkRange(geometryOf?.(c) ?? g, c, length, from, to));
  }
  return { offset: first, length: last - first + 1, chunks: plans };
}
