// Naive reference implementations of the data-path layout, written byte by byte from the rules in
// docs/erasure-and-ring.md, independent of shared/datapath's arithmetic.
import { createHash } from 'node:crypto';

export interface RefParams {
  k: number;
  m: number;
  segmentSize: number;
  maxChunkSize: number;
}

export interface RefStripe {
  chunkIndex: number;
  stripeIndex: number;
  objectOffset: number;
  logicalLength: number;
  segmentLength: number;
  /** k data segments, zero-padded to segmentLength (empty when asked for the layout only). */
  data: Buffer[];
  lastInChunk: boolean;
  lastInObject: boolean;
}

function refChunkSize(p: RefParams): number {
  let size = 0;
  while (size + p.k * p.segmentSize <= p.maxChunkSize) size += p.k * p.segmentSize;
  return size;
}

function refSegmentLength(p: RefParams, logical: number): number {
  if (logical === p.k * p.segmentSize) return p.segmentSize;
  let L = 8;
  while (L * p.k < logical) L += 8;
  return L;
}

/** Cuts a whole body into stripes by walking it. */
export function refStripes(body: Buffer, p: RefParams, withData = true): RefStripe[] {
  const chunkSize = refChunkSize(p);
  const stripes: RefStripe[] = [];
  for (let chunkStart = 0, c = 0; chunkStart < body.length; chunkStart += chunkSize, c++) {
    const chunk = body.subarray(chunkStart, Math.min(body.length, chunkStart + chunkSize));
    for (let s = 0; s * p.k * p.segmentSize < chunk.length; s++) {
      const bytes = chunk.subarray(
        s * p.k * p.segmentSize,
        Math.min(chunk.length, (s + 1) * p.k * p.segmentSize),
      );
      const L = refSegmentLength(p, bytes.length);
      const data = withData ? Array.from({ length: p.k }, () => Buffer.alloc(L)) : [];
      // Segment j holds the stripe's bytes [j·L, (j+1)·L), zero-padded.
      data.forEach((segment, j) =>
        bytes.copy(segment, 0, Math.min(bytes.length, j * L), Math.min(bytes.length, (j + 1) * L)),
      );
      const stripeEnd = chunkStart + s * p.k * p.segmentSize + bytes.length;
      stripes.push({
        chunkIndex: c,
        stripeIndex: s,
        objectOffset: chunkStart + s * p.k * p.segmentSize,
        logicalLength: bytes.length,
        segmentLength: L,
        data,
        lastInChunk: (s + 1) * p.k * p.segmentSize >= chunk.length,
        lastInObject: stripeEnd === body.length,
      });
    }
  }
  return stripes;
}

/** Data segment `shard` of stripe `stripe` of chunk `chunk`, computed from the body on demand. */
export function refSegment(body: Buffer, p: RefParams, chunk: number, stripe: number, shard: number): Buffer {
  const chunkSize = refChunkSize(p);
  const chunkStart = chunk * chunkSize;
  const chunkLength = Math.min(chunkSize, body.length - chunkStart);
  const stripeStart = stripe * p.k * p.segmentSize;
  const logical = Math.min(p.k * p.segmentSize, chunkLength - stripeStart);
  const L = refSegmentLength(p, logical);
  const out = Buffer.alloc(L);
  const from = chunkStart + stripeStart + shard * L;
  const to = Math.min(chunkStart + stripeStart + logical, from + L);
  if (to > from) body.copy(out, 0, from, to);
  return out;
}

export function refMd5(body: Buffer): string {
  return createHash('md5').update(body).digest('hex');
}

/** Deterministic pseudo-random bytes. */
export function bytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
