import { ErasureError } from './errors.ts';
import type { RsScheme } from './scheme.ts';

/**
 * One stripe's memory: the k data segments back to back in `data`, the m parity segments back to
 * back in `parity`. A stripe whose segments are L bytes uses the first k·L and m·L bytes, so one
 * pooled pair of buffers serves full stripes and the short last stripe of a chunk alike.
 */
export interface StripeBuffers {
  readonly data: Buffer;
  readonly parity: Buffer;
}

/** View of segment `index` (0..k-1 data, k..k+m-1 parity) of a stripe with `segmentLength`-byte segments. */
export function segmentView(
  stripe: StripeBuffers,
  scheme: RsScheme,
  segmentLength: number,
  index: number,
): Buffer {
  if (!Number.isInteger(index) || index < 0 || index >= scheme.k + scheme.m) {
    throw new ErasureError(
      'BAD_SEGMENT_INDEX',
      `segment index ${index} is outside 0..${scheme.k + scheme.m - 1}`,
    );
  }
  const [buffer, slot] = index < scheme.k ? [stripe.data, index] : [stripe.parity, index - scheme.k];
  return buffer.subarray(slot * segmentLength, (slot + 1) * segmentLength);
}

/** Views of all k+m segments, data first. */
export function segmentViews(stripe: StripeBuffers, scheme: RsScheme, segmentLength: number): Buffer[] {
  return Array.from({ length: scheme.k + scheme.m }, (_, i) => segmentView(stripe, scheme, segmentLength, i));
}
