import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import fc from 'fast-check';
import { RS_2_1, RS_3_2 } from '../../../shared/erasure/index.ts';
import { DataPathError, makeGeometry, planRange, sliceChunk } from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { bytes, refSegment } from './reference.ts';
import type { RefParams } from './reference.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Reads `start..end` through the plan, taking segments from the reference layout. */
function readThroughPlan(
  g: Geometry,
  p: RefParams,
  body: Buffer,
  range?: { start: number; end: number },
): Buffer {
  const plan = planRange(g, body.length, range);
  const parts: Buffer[] = [];
  for (const chunk of plan.chunks) {
    // Only segments named by a fetch may be used, and every fetched segment must be used.
    const fetched = new Set(
      chunk.fetches.flatMap((f) =>
        Array.from({ length: f.segmentCount }, (_, i) => `${f.shardIndex}/${f.firstSegment + i}`),
      ),
    );
    const used = new Set<string>();
    parts.push(
      ...sliceChunk(chunk, (shard, stripe) => {
        const id = `${shard}/${stripe}`;
        assert.ok(fetched.has(id), `segment ${id} of chunk ${chunk.chunkIndex} was not fetched`);
        used.add(id);
        return refSegment(body, p, chunk.chunkIndex, stripe, shard);
      }),
    );
    assert.deepEqual([...used].sort(), [...fetched].sort(), 'a fetched segment went unused');
    assert.ok(chunk.fetches.every((f) => f.shardIndex < g.scheme.k && f.segmentCount > 0));
  }
  const out = Buffer.concat(parts);
  assert.equal(out.length, plan.length);
  return out;
}

test('ranges of small random layouts read back exactly the requested bytes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(RS_2_1, RS_3_2, { k: 6, m: 3 }, { k: 1, m: 1 }),
      fc.integer({ min: 1, max: 6 }).map((n) => n * 8),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 2500 }),
      fc.nat(),
      fc.nat(),
      (scheme, segmentSize, stripes, size, a, b) => {
        const p = { ...scheme, segmentSize, maxChunkSize: stripes * scheme.k * segmentSize };
        const g = makeGeometry(scheme, { segmentSize, maxChunkSize: p.maxChunkSize });
        const body = bytes(size, size);
        const [start, end] = [a % size, b % size].sort((x, y) => x - y) as [number, number];
        assert.ok(readThroughPlan(g, p, body, { start, end }).equals(body.subarray(start, end + 1)));
      },
    ),
    { numRuns: 400 },
  );
});

test('whole-object reads, including the empty object', () => {
  const g = makeGeometry(RS_3_2, { segmentSize: 16, maxChunkSize: 200 });
  const p = { ...RS_3_2, segmentSize: 16, maxChunkSize: 200 };
  for (const size of [0, 1, 47, 48, 49, 191, 192, 193, 1000]) {
    const body = bytes(size, 7);
    assert.ok(readThroughPlan(g, p, body).equals(body), `size ${size}`);
  }
  assert.deepEqual(planRange(g, 0), { offset: 0, length: 0, chunks: [] });
});

test('production geometry at 64 KiB ± 1 and 32 MiB ± 1', () => {
  const big = randomFillSync(Buffer.allocUnsafe(32 * MiB + 1));
  for (const scheme of [RS_2_1, RS_3_2]) {
    const g = makeGeometry(scheme);
    const p = { ...scheme, segmentSize: 64 * KiB, maxChunkSize: 32 * MiB };
    for (const size of [1, 64 * KiB - 1, 64 * KiB + 1, 32 * MiB - 1, 32 * MiB + 1]) {
      const body = big.subarray(0, size);
      const ranges = [
        { start: 0, end: Math.min(size - 1, 300 * KiB) },
        { start: size - 1, end: size - 1 },
        { start: Math.floor(size / 3), end: Math.floor(size / 2) },
        { start: Math.max(0, size - 64 * KiB - 5), end: size - 1 },
      ];
      for (const range of ranges) {
        assert.ok(
          readThroughPlan(g, p, body, range).equals(body.subarray(range.start, range.end + 1)),
          `${size} ${range.start}`,
        );
      }
    }
  }
});

test('a small range inside a big object touches only a few segments on a few shards', () => {
  const g = makeGeometry(RS_3_2);
  const size = 100 * MiB;
  const plan = planRange(g, size, { start: 40 * MiB + 100, end: 40 * MiB + 100 + 100 * KiB });
  assert.equal(plan.chunks.length, 1);
  const [chunk] = plan.chunks;
  assert.ok(chunk);
  assert.equal(chunk.chunkIndex, 1);
  assert.equal(chunk.slices.length, 2);
  assert.equal(
    chunk.fetches.reduce((n, f) => n + f.segmentCount, 0),
    2,
  );
});

test('ranges outside the object are typed errors', () => {
  const g = makeGeometry(RS_2_1);
  for (const range of [
    { start: 0, end: 10 },
    { start: 5, end: 4 },
    { start: -1, end: 3 },
    { start: 0.5, end: 3 },
  ]) {
    assert.throws(
      () => planRange(g, 10, range),
      (e: unknown) => e instanceof DataPathError && e.code === 'BAD_RANGE',
    );
  }
  assert.throws(() => planRange(g, 0, { start: 0, end: 0 }), DataPathError);
});
