import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ReedSolomonCodec, segmentViews } from '../../../shared/erasure/index.ts';
import { chunkWriteOutcome, readSet, writeQuorum } from '../../../gateway/backend/distributed/quorum.ts';
import { decodeStripe } from '../../../shared/datapath/index.ts';
import { retryDelay } from '../../../gateway/backend/distributed/garbage-worker.ts';

describe('quorum decisions', () => {
  it('a chunk is durable at k+1 shards (k when m <= 1)', () => {
    assert.equal(writeQuorum(3, 2), 4);
    assert.equal(writeQuorum(2, 1), 2);
    assert.equal(writeQuorum(4, 0), 4);
    assert.deepEqual(chunkWriteOutcome([true, true, false, true, true], 3, 2), {
      durable: true,
      failed: [2],
      written: [0, 1, 3, 4],
    });
    assert.equal(chunkWriteOutcome([true, true, false, false, true], 3, 2).durable, false);
    assert.equal(chunkWriteOutcome([true, false, true], 2, 1).durable, true);
    assert.throws(() => chunkWriteOutcome([true], 3, 2));
  });

  it('reads data shards first and falls back to parity; undefined below k', () => {
    assert.deepEqual(readSet(3, 2, new Set()), [0, 1, 2]);
    assert.deepEqual(readSet(3, 2, new Set([1])), [0, 2, 3]);
    assert.deepEqual(readSet(3, 2, new Set([0, 2])), [1, 3, 4]);
    assert.equal(readSet(3, 2, new Set([0, 1, 4])), undefined);
  });

  it('garbage retry delay doubles and is capped', () => {
    assert.equal(retryDelay(1, 1000), 1000);
    assert.equal(retryDelay(3, 1000), 4000);
    assert.equal(retryDelay(50, 1000), 300_000);
  });
});

describe('stripe rebuild', () => {
  it('rebuilds the data segments from any k of k+m', async () => {
    const codec = new ReedSolomonCodec({ k: 3, m: 2 });
    const L = 64;
    const layout = { logicalLength: 3 * L, segmentLength: L };
    const stripe = { data: randomBytes(3 * L), parity: Buffer.alloc(2 * L) };
    await codec.encode(stripe, L);
    const segments = segmentViews(stripe, codec.scheme, L).map((s) => Buffer.from(s));
    for (const lost of [[0], [1, 2], [0, 4], [3, 4]]) {
      const slots = segments.map((s, i) => (lost.includes(i) ? undefined : s));
      const { dataSegments: data } = await decodeStripe({ codec, layout, segments: slots });
      assert.deepEqual(Buffer.concat(data), stripe.data, `lost ${lost.join(',')}`);
    }
    await assert.rejects(
      decodeStripe({ codec, layout, segments: [segments[0], undefined, undefined, undefined, segments[4]] }),
    );
  });
});
