import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  HashRing,
  RingError,
  chunkPosition,
  hash64,
  movedShards,
  rebalancePlacement,
} from '../../../shared/ring/index.ts';

const nodes32 = Array.from({ length: 32 }, (_, i) => `appliance-${i}`);

test('hash64 is the first 8 bytes of SHA-256, big-endian', () => {
  const digest = createHash('sha256').update('photos/cat.jpg:3').digest();
  assert.equal(hash64('photos/cat.jpg:3'), BigInt('0x' + digest.subarray(0, 8).toString('hex')));
  assert.equal(chunkPosition('photos', 'cat.jpg', 3), hash64('photos/cat.jpg:3'));
});

test('placement is deterministic and independent of node listing order', () => {
  const a = new HashRing({ nodes: nodes32, epoch: 7 });
  const b = new HashRing({ nodes: [...nodes32].reverse(), epoch: 7 });
  fc.assert(
    fc.property(
      fc.string(),
      fc.string(),
      fc.nat(10_000),
      fc.integer({ min: 1, max: 30 }),
      (bucket, key, chunk, count) => {
        const first = a.placeChunk(bucket, key, chunk, count);
        assert.deepEqual(first, a.placeChunk(bucket, key, chunk, count));
        assert.deepEqual(first, b.placeChunk(bucket, key, chunk, count));
        assert.equal(first.length, count);
        assert.equal(new Set(first).size, count, 'nodes must be distinct');
      },
    ),
    { numRuns: 300 },
  );
});

test('placement walks clockwise from the first vnode at or after the position, wrapping', () => {
  const ring = new HashRing({ nodes: ['a', 'b', 'c'], epoch: 1, vnodesPerNode: 1 });
  const points = ['a', 'b', 'c']
    .map((n) => ({ n, p: hash64(`${n}#0`) }))
    .sort((x, y) => (x.p < y.p ? -1 : 1));
  const [p0, p1, p2] = points as [(typeof points)[0], (typeof points)[0], (typeof points)[0]];
  assert.deepEqual(ring.placeAt(p0.p, 3), [p0.n, p1.n, p2.n]);
  assert.deepEqual(ring.placeAt(p0.p + 1n, 2), [p1.n, p2.n]);
  assert.deepEqual(ring.placeAt(p2.p + 1n, 3), [p0.n, p1.n, p2.n], 'past the last vnode wraps to the first');
  assert.deepEqual(ring.placeAt(0xffffffffffffffffn, 1), [p2.p === 0xffffffffffffffffn ? p2.n : p0.n]);
});

test('bad rings and impossible placements fail with a typed error', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof RingError);
      return e.code;
    }
    assert.fail('expected a RingError');
  };
  assert.equal(
    code(() => new HashRing({ nodes: [], epoch: 1 })),
    'NO_NODES',
  );
  assert.equal(
    code(() => new HashRing({ nodes: ['a', 'a'], epoch: 1 })),
    'DUPLICATE_NODE',
  );
  assert.equal(
    code(() => new HashRing({ nodes: ['a', ''], epoch: 1 })),
    'BAD_NODE_ID',
  );
  assert.equal(
    code(() => new HashRing({ nodes: ['a'], epoch: -1 })),
    'BAD_EPOCH',
  );
  assert.equal(
    code(() => new HashRing({ nodes: ['a'], epoch: 1, vnodesPerNode: 0 })),
    'BAD_VNODES',
  );
  const ring = new HashRing({ nodes: ['a', 'b'], epoch: 3 });
  assert.equal(
    code(() => ring.placeChunk('b', 'k', 0, 3)),
    'TOO_FEW_NODES',
  );
  assert.equal(
    code(() => ring.placeChunk('b', 'k', 0, 0)),
    'BAD_COUNT',
  );
  assert.equal(ring.epoch, 3);
  assert.equal(ring.vnodesPerNode, 128);
});

// Over 32 nodes × 128 vnodes and 100 000 chunks: balance and movement when a 33rd node joins.
for (const width of [3, 5]) {
  test(`balance and movement for ${width}-wide placements (32 → 33 nodes, 100 000 chunks)`, () => {
    const before = new HashRing({ nodes: nodes32, epoch: 1, vnodesPerNode: 128 });
    const after = new HashRing({ nodes: [...nodes32, 'appliance-32'], epoch: 2, vnodesPerNode: 128 });
    const load = new Map<string, number>();
    let moved = 0;
    const chunks = 100_000;
    for (let c = 0; c < chunks; c++) {
      const position = chunkPosition('bucket', `object-${c >> 2}`, c & 3);
      const old = before.placeAt(position, width);
      for (const node of old) load.set(node, (load.get(node) ?? 0) + 1);
      moved += movedShards(old, rebalancePlacement(old, after.placeAt(position, width))).length;
    }
    const mean = (chunks * width) / nodes32.length;
    const busiest = Math.max(...load.values());
    assert.equal(load.size, 32, 'every node receives shards');
    assert.ok(busiest <= 1.15 * mean, `busiest node holds ${(busiest / mean).toFixed(3)} × the mean`);
    const share = moved / (chunks * width);
    assert.ok(share <= 1.5 / 33, `${(share * 100).toFixed(2)}% of placements moved`);
    assert.ok(share > 0.5 / 33, `the new node takes a fair share (${(share * 100).toFixed(2)}%)`);
  });
}

test('rebalancePlacement keeps surviving nodes on their shard index', () => {
  assert.deepEqual(rebalancePlacement(['a', 'b', 'c'], ['a', 'x', 'b']), ['a', 'b', 'x']);
  assert.deepEqual(rebalancePlacement(['a', 'b', 'c'], ['x', 'y', 'c']), ['x', 'y', 'c']);
  assert.deepEqual(movedShards(['a', 'b', 'c'], ['a', 'b', 'x']), [2]);
  assert.throws(() => rebalancePlacement(['a'], ['a', 'b']), RangeError);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { minLength: 2, maxLength: 2 * 5 }), (ids) => {
      const half = ids.length >> 1;
      const prev = ids.slice(0, half).map(String);
      const next = ids.slice(ids.length - half).map(String);
      const result = rebalancePlacement(prev, next);
      assert.deepEqual([...result].sort(), [...next].sort(), 'same node set as the new placement');
      result.forEach((node, i) => {
        if (next.includes(prev[i] as string)) assert.equal(node, prev[i]);
      });
    }),
  );
});
