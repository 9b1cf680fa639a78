import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '../../../shared/checksum/index.ts';
import { RS_2_1, RS_3_2, ReedSolomonCodec, StripePool, segmentViews } from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';
import {
  DataPathError,
  decodeStripe,
  makeGeometry,
  segmentLengthFor,
} from '../../../shared/datapath/index.ts';
import { bytes } from './reference.ts';

/** Encodes `logical` bytes as one stripe; returns its k+m segments. */
async function encodeStripe(codec: ReedSolomonCodec, logical: Buffer, L: number): Promise<Buffer[]> {
  const { k, m } = codec.scheme;
  const stripe = { data: Buffer.alloc(k * L), parity: Buffer.alloc(m * L) };
  logical.copy(stripe.data);
  await codec.encode(stripe, L);
  return segmentViews(stripe, codec.scheme, L).map((s) => Buffer.from(s));
}

const schemes: RsScheme[] = [RS_2_1, RS_3_2, { k: 6, m: 3 }];

test('any k usable segments give back the stripe bytes; CRC failures count as missing', async () => {
  const pool = new StripePool(RS_3_2, 1, 64);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...schemes),
      fc.integer({ min: 1, max: 6 * 64 }),
      fc.nat(),
      fc.nat(),
      async (scheme, wanted, seed, patternSeed) => {
        const g = makeGeometry(scheme, { segmentSize: 64, maxChunkSize: 64 * scheme.k * 4 });
        const logicalLength = Math.min(wanted, g.stripeDataSize);
        const L = segmentLengthFor(g, logicalLength);
        const codec = new ReedSolomonCodec(scheme);
        const logical = bytes(logicalLength, seed);
        const segments: (Buffer | undefined)[] = await encodeStripe(codec, logical, L);
        const crcs = segments.map((s) => crc32c(s as Buffer));
        // Lose up to m segments: some missing, some corrupted (caught by CRC), some truncated.
        const n = scheme.k + scheme.m;
        const lost = new Set<number>();
        for (let i = 0; lost.size < patternSeed % (scheme.m + 1) && i < 50; i++)
          lost.add((patternSeed >> (i % 16)) % n);
        const expectCorrupt: number[] = [];
        [...lost].forEach((i, order) => {
          if (order % 3 === 0) segments[i] = undefined;
          else if (order % 3 === 1) {
            const flipped = Buffer.from(segments[i] as Buffer);
            flipped[0] = (flipped[0] as number) ^ 1;
            segments[i] = flipped;
            expectCorrupt.push(i);
          } else {
            segments[i] = (segments[i] as Buffer).subarray(0, L - 8);
            expectCorrupt.push(i);
          }
        });
        const decoded = await decodeStripe({
          codec,
          layout: { logicalLength, segmentLength: L },
          segments,
          crcs,
          pool,
        });
        assert.ok(decoded.bytes.equals(logical));
        assert.deepEqual([...decoded.corrupt].sort(), expectCorrupt.sort());
        assert.deepEqual(
          decoded.rebuilt,
          [...lost].filter((i) => i < scheme.k).sort((a, b) => a - b),
        );
        assert.equal(decoded.dataSegments.length, scheme.k);
      },
    ),
    { numRuns: 150 },
  );
  assert.equal(pool.inUse, 0);
});

test('fewer than k usable segments is a typed error', async () => {
  const codec = new ReedSolomonCodec(RS_3_2);
  const segments: (Buffer | undefined)[] = await encodeStripe(codec, bytes(100, 1), 40);
  segments[0] = undefined;
  segments[3] = undefined;
  segments[4] = Buffer.alloc(40); // wrong CRC
  const crcs = [0, 0, 0, 0, 1];
  await assert.rejects(
    decodeStripe({ codec, layout: { logicalLength: 100, segmentLength: 40 }, segments, crcs }),
    (e: unknown) => e instanceof DataPathError && e.code === 'TOO_FEW_SEGMENTS',
  );
  await assert.rejects(
    decodeStripe({ codec, layout: { logicalLength: 100, segmentLength: 40 }, segments: segments.slice(1) }),
    DataPathError,
  );
  await assert.rejects(
    decodeStripe({ codec, layout: { logicalLength: 121, segmentLength: 40 }, segments }),
    (e: unknown) => e instanceof DataPathError && e.code === 'BAD_SIZE',
  );
});
