// Rebuilds a stripe's k data segments from any k of its k+m segments. (An adapter over the erasure
// codec: gateway/datapath's decodeStripe does not run the reconstruction yet.)
import type { ReedSolomonCodec, StripeBuffers } from '../../../shared/erasure/index.ts';
import { segmentView } from '../../../shared/erasure/index.ts';

export async function rebuildDataSegments(
  codec: ReedSolomonCodec,
  segmentLength: number,
  segments: readonly (Uint8Array | undefined)[],
): Promise<Buffer[]> {
  const { k, m } = codec.scheme;
  if (segments.length !== k + m) throw new Error(`expected ${k + m} segment slots, got ${segments.length}`);
  const present = segments.map((s) => s !== undefined && s.length === segmentLength);
  const available = present.filter(Boolean).length;
  if (available < k) throw new Error(`only ${available} of ${k + m} segments usable, need ${k}`);
  const stripe: StripeBuffers = {
    data: Buffer.allocUnsafe(k * segmentLength),
    parity: Buffer.allocUnsafe(Math.max(1, m) * segmentLength),
  };
  segments.forEach((s, i) => {
    if (present[i]) segmentView(stripe, codec.scheme, segmentLength, i).set(s as Uint8Array);
  });
  const missingData = present.slice(0, k).flatMap((ok, i) => (ok ? [] : [i]));
  if (missingData.length > 0) await codec.reconstruct(stripe, segmentLength, present, missingData);
  return Array.from({ length: k }, (_, i) => segmentView(stripe, codec.scheme, segmentLength, i));
}
