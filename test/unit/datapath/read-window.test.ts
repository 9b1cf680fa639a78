import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RS_2_1, RS_3_2 } from '../../../shared/erasure/index.ts';
import {
  DataPathError,
  makeGeometry,
  planRange,
  sliceChunk,
  windowChunkPlan,
} from '../../../shared/datapath/index.ts';
import type { ChunkRangePlan } from '../../../shared/datapath/index.ts';
import { bytes, refSegment } from './reference.ts';

/** Every segment a window's fetches name, as `shard/stripe`. */
function fetchedIds(plan: ChunkRangePlan): string[] {
  return plan.fetches.flatMap((f) =>
    Array.from({ length: f.segmentCount }, (_, i) => `${f.shardIndex}/${f.firstSegment + i}`),
  );
}

test('reading window by window gives exactly the range, each window small and fetching only what it uses', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(RS_2_1, RS_3_2, { k: 6, m: 3 }, { k: 1, m: 1 }),
      fc.integer({ min: 1, max: 4 }).map((n) => n * 8),
      fc.integer({ min: 1, max: 9 }),
      fc.integer({ min: 1, max: 3000 }),
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 4 }),
      (scheme, segmentSize, stripes, size, a, b, windowStripes) => {
        const p = { ...scheme, segmentSize, maxChunkSize: stripes * scheme.k * segmentSize };
        const g = makeGeometry(scheme, { segmentSize, maxChunkSize: p.maxChunkSize });
        const body = bytes(size, size + windowStripes);
        const [start, end] = [a % size, b % size].sort((x, y) => x - y) as [number, number];
        const parts: Buffer[] = [];
        for (const chunk of planRange(g, size, { start, end }).chunks) {
          const windows = windowChunkPlan(chunk, windowStripes);
          const expected = Math.ceil((chunk.lastStripe - chunk.firstStripe + 1) / windowStripes);
          assert.equal(windows.length, expected);
          let nextStripe = chunk.firstStripe;
          for (const w of windows) {
            assert.equal(w.chunkIndex, chunk.chunkIndex);
            assert.equal(w.firstStripe, nextStripe, 'windows cover the stripes in order, without gaps');
            assert.ok(w.lastStripe - w.firstStripe < windowStripes);
            nextStripe = w.lastStripe + 1;
            const fetched = new Set(fetchedIds(w));
            const used = new Set<string>();
            parts.push(
              ...sliceChunk(w, (shard, stripe) => {
                const id = `${shard}/${stripe}`;
                assert.ok(fetched.has(id), `segment ${id} was not fetched by its window`);
                used.add(id);
                return refSegment(body, p, chunk.chunkIndex, stripe, shard);
              }),
            );
            assert.deepEqual(
              [...used].sort(),
              [...fetched].sort(),
              'a window fetched a segment it does not use',
            );
          }
          assert.equal(nextStripe, chunk.lastStripe + 1);
        }
        assert.ok(Buffer.concat(parts).equals(body.subarray(start, end + 1)));
      },
    ),
    { numRuns: 400 },
  );
});

test('a chunk plan within one window is returned as it is; a window of no stripes is a typed error', () => {
  const g = makeGeometry(RS_3_2, { segmentSize: 64, maxChunkSize: 64 * 3 * 8 });
  const [chunk] = planRange(g, 64 * 3 * 8).chunks as [ChunkRangePlan];
  assert.deepEqual(windowChunkPlan(chunk, 8), [chunk]);
  assert.equal(windowChunkPlan(chunk, 3).length, 3);
  assert.throws(
    () => windowChunkPlan(chunk, 0),
    (e: unknown) => e instanceof DataPathError && e.code === 'BAD_OPTIONS',
  );
});
