// Rebuilds one stripe's object bytes from any k of its k+m segments.
import { crc32c } from '../checksum/index.ts';
import { segmentView } from '../erasure/index.ts';
import type { StripeBuffers, StripePool, ReedSolomonCodec } from '../erasure/index.ts';
import { DataPathError } from './errors.ts';
import type { StripeLayout } from './geometry.ts';

export interface DecodeStripeInput {
  readonly codec: ReedSolomonCodec;
  readonly layout: Pick<StripeLayout, 'logicalLength' | 'segmentLength'>;
  /** Segment i (0..k-1 data, k..k+m-1 parity) as read, or undefined if it could not be read. */
  readonly segments: readonly (Uint8Array | undefined)[];
  /** Expected CRC32C per segment; a segment that does not match is treated as missing. */
  readonly crcs?: readonly (number | undefined)[];
  /** Scratch stripe buffers to reuse (segment size ≥ layout.segmentLength); fresh ones otherwise. */
  readonly pool?: StripePool;
}

export interface DecodedStripe {
  /** The stripe's object bytes (logicalLength of them), in a buffer of its own. */
  readonly bytes: Buffer;
  /** The k data segments (views into `bytes`' backing store, padded length). */
  readonly dataSegments: readonly Buffer[];
  /** Segments that were present but failed the CRC or had the wrong length: read-repair them. */
  readonly corrupt: readonly number[];
  /** Data segments that were rebuilt from parity (empty on the fast path). */
  readonly rebuilt: readonly number[];
}

export async function decodeStripe(input: DecodeStripeInput): Promise<DecodedStripe> {
  const { codec, layout, segments, crcs } = input;
  const { k, m } = codec.scheme;
  const L = layout.segmentLength;
  if (segments.length !== k + m) {
    throw new DataPathError('BAD_OPTIONS', `expected ${k + m} segment slots, got ${segments.length}`);
  }
  if (layout.logicalLength < 1 || layout.logicalLength > k * L) {
    throw new DataPathError(
      'BAD_SIZE',
      `logical length ${layout.logicalLength} does not fit ${k} segments of ${L} bytes`,
    );
  }
  const corrupt: number[] = [];
  const valid = segments.map((segment, i) => {
    if (segment === undefined) return false;
    const expected = crcs?.[i];
    const ok = segment.length === L && (expected === undefined || crc32c(segment) === expected >>> 0);
    if (!ok) corrupt.push(i);
    return ok;
  });
  const available = valid.filter(Boolean).length;
  if (available < k) {
    throw new DataPathError(
      'TOO_FEW_SEGMENTS',
      `only ${available} of ${k + m} segments are usable; RS(${k},${m}) needs ${k}`,
    );
  }
  const out = Buffer.allocUnsafe(k * L);
  const missingData = valid.slice(0, k).flatMap((ok, i) => (ok ? [] : [i]));
  if (missingData.length === 0) {
    segments.slice(0, k).forEach((segment, i) => out.set(segment as Uint8Array, i * L));
  } else {
    const pool = input.pool && fitsPool(input.pool, codec, L) ? input.pool : undefined;
    const scratch: StripeBuffers = pool
      ? await pool.acquire()
      : { data: Buffer.allocUnsafe(k * L), parity: Buffer.allocUnsafe(m * L) };
    try {
      segments.forEach((segment, i) => {
        if (valid[i]) segmentView(scratch, codec.scheme, L, i).set(segment as Uint8Array);
      });
      await codec.reconstruct(scratch, L, valid, missingData);
      scratch.data.copy(out, 0, 0, k * L);
    } finally {
      pool?.release(scratch);
    }
  }
  return {
    bytes: out.subarray(0, layout.logicalLength),
    dataSegments: Array.from({ length: k }, (_, i) => out.subarray(i * L, (i + 1) * L)),
    corrupt,
    rebuilt: missingData,
  };
}

function fitsPool(pool: StripePool, codec: ReedSolomonCodec, segmentLength: number): boolean {
  return (
    pool.segmentSize >= segmentLength && pool.scheme.k === codec.scheme.k && pool.scheme.m === codec.scheme.m
  );
}
