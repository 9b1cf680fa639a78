import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RS_2_1, RS_3_2 } from '../../../shared/erasure/index.ts';
import {
  DataPathError,
  MAX_CHUNK_SIZE,
  chunkCount,
  chunkLayouts,
  makeGeometry,
  segmentLengthFor,
  stripeLayout,
} from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { bytes, refStripes } from './reference.ts';
import type { RefParams } from './reference.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every stripe of an object as the geometry functions describe it. */
function stripesOf(g: Geometry, size: number) {
  return chunkLayouts(g, size).flatMap((chunk) =>
    Array.from({ length: chunk.stripeCount }, (_, s) => {
      const stripe = stripeLayout(g, chunk.length, s);
      return {
        chunkIndex: chunk.chunkIndex,
        stripeIndex: s,
        objectOffset: chunk.objectOffset + stripe.chunkOffset,
        logicalLength: stripe.logicalLength,
        segmentLength: stripe.segmentLength,
      };
    }),
  );
}

function compareWithReference(g: Geometry, p: RefParams, size: number): void {
  const ref = refStripes(Buffer.alloc(size), p, false).map((s) => ({
    chunkIndex: s.chunkIndex,
    stripeIndex: s.stripeIndex,
    objectOffset: s.objectOffset,
    logicalLength: s.logicalLength,
    segmentLength: s.segmentLength,
  }));
  assert.deepEqual(stripesOf(g, size), ref, `size ${size}`);
  for (const chunk of chunkLayouts(g, size)) {
    const own = ref.filter((s) => s.chunkIndex === chunk.chunkIndex);
    assert.equal(
      chunk.shardLength,
      own.reduce((sum, s) => sum + s.segmentLength, 0),
    );
    assert.equal(
      chunk.length,
      own.reduce((sum, s) => sum + s.logicalLength, 0),
    );
  }
}

test('production geometry: chunks hold whole stripes, at most 32 MiB', () => {
  const g21 = makeGeometry(RS_2_1);
  assert.equal(g21.chunkSize, 32 * MiB);
  assert.equal(g21.stripesPerChunk, 256);
  const g32 = makeGeometry(RS_3_2);
  assert.equal(g32.stripeDataSize, 192 * KiB);
  assert.equal(g32.stripesPerChunk, 170);
  assert.equal(g32.chunkSize, 170 * 192 * KiB);
  for (const k of [1, 5, 7, 24]) assert.ok(makeGeometry({ k, m: 1 }).chunkSize <= MAX_CHUNK_SIZE);
});

test('layout matches the byte-walking reference at the edges (0 B, 1 B, 64 KiB ± 1, 32 MiB ± 1)', () => {
  for (const scheme of [RS_2_1, RS_3_2]) {
    const g = makeGeometry(scheme);
    const p = { ...scheme, segmentSize: 64 * KiB, maxChunkSize: 32 * MiB };
    const edges = [
      0,
      1,
      8,
      9,
      64 * KiB - 1,
      64 * KiB,
      64 * KiB + 1,
      g.stripeDataSize - 1,
      g.stripeDataSize + 1,
    ];
    const large = [32 * MiB - 1, 32 * MiB, 32 * MiB + 1, g.chunkSize - 1, g.chunkSize + 1];
    for (const size of [...edges, ...large]) compareWithReference(g, p, size);
  }
});

test('layout matches the reference on random small geometries and sizes', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 8 }).map((n) => n * 8),
      fc.integer({ min: 1, max: 12 }),
      fc.nat(3000),
      (k, m, segmentSize, stripes, size) => {
        const maxChunkSize = stripes * k * segmentSize + (size % (k * segmentSize));
        const g = makeGeometry({ k, m }, { segmentSize, maxChunkSize });
        compareWithReference(g, { k, m, segmentSize, maxChunkSize }, size);
      },
    ),
    { numRuns: 300 },
  );
});

test('short stripes: segment length is the smallest multiple of 8 holding the bytes', () => {
  const g = makeGeometry(RS_3_2);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: g.stripeDataSize }), (t) => {
      const L = segmentLengthFor(g, t);
      assert.equal(L % 8, 0);
      assert.ok(3 * L >= t);
      if (t < g.stripeDataSize) assert.ok(3 * (L - 8) < t);
      assert.ok(L <= g.segmentSize);
    }),
  );
  assert.equal(segmentLengthFor(g, 1), 8);
  assert.equal(segmentLengthFor(g, 25), 16);
});

test('bad sizes and geometries are typed errors', () => {
  const g = makeGeometry(RS_2_1);
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof DataPathError, String(e));
      return e.code;
    }
    assert.fail('expected a DataPathError');
  };
  assert.equal(
    code(() => chunkCount(g, -1)),
    'BAD_SIZE',
  );
  assert.equal(
    code(() => chunkCount(g, 1.5)),
    'BAD_SIZE',
  );
  assert.equal(
    code(() => stripeLayout(g, 0, 0)),
    'BAD_SIZE',
  );
  assert.equal(
    code(() => stripeLayout(g, 100, 1)),
    'BAD_RANGE',
  );
  assert.equal(
    code(() => makeGeometry(RS_2_1, { segmentSize: 12 })),
    'BAD_GEOMETRY',
  );
  assert.equal(
    code(() => makeGeometry(RS_2_1, { maxChunkSize: 1000 })),
    'BAD_GEOMETRY',
  );
  assert.equal(chunkCount(g, 0), 0);
  assert.deepEqual(chunkLayouts(g, 0), []);
  assert.ok(bytes(4, 1).length === 4);
});
