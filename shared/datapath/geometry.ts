// Object → chunks → stripes → segments (DESIGN.md §3, docs/erasure-and-ring.md).
//
// A chunk holds a whole number of full stripes (k × 64 KiB of object data each), as many as fit
// in 32 MiB, so only the last chunk of an object can end in a short stripe. A short stripe of t
// bytes uses segments of L = ⌈t / k⌉ rounded up to a multiple of 8 (the codec's unit); its data
// segments are the stripe's bytes cut at multiples of L, zero-padded to k·L. Every segment of a
// stripe (data and parity) is L bytes; the object size tells readers where the real bytes end.
import { SEGMENT_SIZE, alignSegmentLength, validateScheme } from '../erasure/index.ts';
import type { RsScheme } from '../erasure/index.ts';
import { DataPathError } from './errors.ts';

export const MAX_CHUNK_SIZE = 32 * 1024 * 1024;

export interface Geometry {
  readonly scheme: RsScheme;
  /** Bytes in a full segment. */
  readonly segmentSize: number;
  /** Object bytes in a full stripe: k × segmentSize. */
  readonly stripeDataSize: number;
  readonly stripesPerChunk: number;
  /** Object bytes in every chunk but the last: stripesPerChunk × stripeDataSize ≤ maxChunkSize. */
  readonly chunkSize: number;
}

export interface GeometryOptions {
  maxChunkSize?: number;
  /** Tests use small segments; production keeps the 64 KiB default. */
  segmentSize?: number;
}

export function makeGeometry(scheme: RsScheme, options: GeometryOptions = {}): Geometry {
  validateScheme(scheme);
  const segmentSize = options.segmentSize ?? SEGMENT_SIZE;
  const maxChunkSize = options.maxChunkSize ?? MAX_CHUNK_SIZE;
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 8 || segmentSize % 8 !== 0) {
    throw new DataPathError(
      'BAD_GEOMETRY',
      `segment size must be a positive multiple of 8, got ${segmentSize}`,
    );
  }
  const stripeDataSize = scheme.k * segmentSize;
  if (!Number.isSafeInteger(maxChunkSize) || maxChunkSize < stripeDataSize) {
    throw new DataPathError(
      'BAD_GEOMETRY',
      `chunk size ${maxChunkSize} cannot hold one stripe of ${stripeDataSize} bytes`,
    );
  }
  const stripesPerChunk = Math.floor(maxChunkSize / stripeDataSize);
  return Object.freeze({
    scheme,
    segmentSize,
    stripeDataSize,
    stripesPerChunk,
    chunkSize: stripesPerChunk * stripeDataSize,
  });
}

export interface ChunkLayout {
  readonly chunkIndex: number;
  /** Offset of the chunk's first byte in the object. */
  readonly objectOffset: number;
  /** Object bytes in the chunk. */
  readonly length: number;
  readonly stripeCount: number;
  /** Bytes each of the k+m shards of this chunk stores (sum of its segment lengths). */
  readonly shardLength: number;
}

export interface StripeLayout {
  readonly stripeIndex: number;
  /** Offset of the stripe's first byte in its chunk. */
  readonly chunkOffset: number;
  /** Object bytes in the stripe (≤ k × segmentLength). */
  readonly logicalLength: number;
  /** Stored length of each of the stripe's k+m segments (multiple of 8). */
  readonly segmentLength: number;
}

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new DataPathError('BAD_SIZE', `${what} must be a non-negative integer, got ${size}`);
}

export function chunkCount(g: Geometry, objectSize: number): number {
  checkSize(objectSize, 'object size');
  return Math.ceil(objectSize / g.chunkSize);
}

/** Segment length of a stripe holding `logicalLength` object bytes. */
export function segmentLengthFor(g: Geometry, logicalLength: number): number {
  if (!Number.isSafeInteger(logicalLength) || logicalLength < 1 || logicalLength > g.stripeDataSize) {
    throw new DataPathError('BAD_SIZE', `a stripe holds 1..${g.stripeDataSize} bytes, got ${logicalLength}`);
  }
  return logicalLength === g.stripeDataSize
    ? g.segmentSize
    : alignSegmentLength(Math.ceil(logicalLength / g.scheme.k));
}

export function stripeCount(g: Geometry, chunkLength: number): number {
  checkChunkLength(g, chunkLength);
  return Math.ceil(chunkLength / g.stripeDataSize);
}

export function stripeLayout(g: Geometry, chunkLength: number, stripeIndex: number): StripeLayout {
  const count = stripeCount(g, chunkLength);
  if (!Number.isInteger(stripeIndex) || stripeIndex < 0 || stripeIndex >= count) {
    throw new DataPathError(
      'BAD_RANGE',
      `stripe ${stripeIndex} is outside 0..${count - 1} of a ${chunkLength}-byte chunk`,
    );
  }
  const chunkOffset = stripeIndex * g.stripeDataSize;
  const logicalLength = Math.min(g.stripeDataSize, chunkLength - chunkOffset);
  return { stripeIndex, chunkOffset, logicalLength, segmentLength: segmentLengthFor(g, logicalLength) };
}

export function shardLength(g: Geometry, chunkLength: number): number {
  const count = stripeCount(g, chunkLength);
  return (count - 1) * g.segmentSize + stripeLayout(g, chunkLength, count - 1).segmentLength;
}

/** Offset of segment `stripeIndex` inside each shard of a chunk (all earlier stripes are full). */
export function segmentOffsetInShard(g: Geometry, stripeIndex: number): number {
  return stripeIndex * g.segmentSize;
}

export function chunkLayout(g: Geometry, objectSize: number, chunkIndex: number): ChunkLayout {
  const count = chunkCount(g, objectSize);
  if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= count) {
    throw new DataPathError(
      'BAD_RANGE',
      `chunk ${chunkIndex} is outside 0..${count - 1} of a ${objectSize}-byte object`,
    );
  }
  const objectOffset = chunkIndex * g.chunkSize;
  const length = Math.min(g.chunkSize, objectSize - objectOffset);
  return {
    chunkIndex,
    objectOffset,
    length,
    stripeCount: stripeCount(g, length),
    shardLength: shardLength(g, length),
  };
}

/** Every chunk of an object, in order (none for an empty object). */
export function chunkLayouts(g: Geometry, objectSize: number): ChunkLayout[] {
  return Array.from({ length: chunkCount(g, objectSize) }, (_, i) => chunkLayout(g, objectSize, i));
}

function checkChunkLength(g: Geometry, chunkLength: number): void {
  if (!Number.isSafeInteger(chunkLength) || chunkLength < 1 || chunkLength > g.chunkSize) {
    throw new DataPathError('BAD_SIZE', `a chunk holds 1..${g.chunkSize} bytes, got ${chunkLength}`);
  }
}
