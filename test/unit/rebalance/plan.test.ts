import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HashRing } from '../../../shared/ring/index.ts';
import {
  chunksOnNode,
  inScope,
  needsMigration,
  planObjectMoves,
  splitObjectKey,
} from '../../../appliance/maintenance/rebalance/plan.ts';
import { decodeCursor, encodeCursor } from '../../../appliance/maintenance/rebalance/passes.ts';
import { moveIntentKey, parseMoveIntentKey } from '../../../appliance/maintenance/rebalance/intents.ts';
import { objectKey } from '../../../shared/metadata/keys.ts';
import type { ChunkRecord } from '../../../shared/metadata/records.ts';

const ring4 = new HashRing({ nodes: ['1', '2', '3', '4'], epoch: 0, vnodesPerNode: 64 });
const ring5 = new HashRing({ nodes: ['1', '2', '3', '4', '5'], epoch: 1, vnodesPerNode: 64 });

function recordOn(ring: HashRing, key: string, chunks: number, k = 2, m = 1): { chunks: ChunkRecord[] } {
  return {
    chunks: Array.from({ length: chunks }, (_, c) => ({
      length: 100,
      k,
      m,
      epoch: ring.epoch,
      nodes: ring.placeChunk('b', key, c, k + m),
    })),
  };
}

describe('rebalance planning', () => {
  it('a chunk already placed as the ring says needs nothing', () => {
    const plan = planObjectMoves('b', 'k', recordOn(ring4, 'k', 3), ring4);
    assert.deepEqual(plan, { chunks: [], unplaceable: [] });
  });

  it('adding a 5th node moves only shards whose node left the chosen set, onto the new node', () => {
    let moved = 0;
    let total = 0;
    for (let i = 0; i < 400; i++) {
      const key = `obj-${i}`;
      const record = recordOn(ring4, key, 2);
      const plan = planObjectMoves('b', key, record, ring5);
      total += 6;
      for (const c of plan.chunks) {
        const before = record.chunks[c.chunkIndex]!.nodes;
        assert.equal(new Set(c.target).size, 3, 'targets are distinct');
        for (const mv of c.moves) {
          assert.equal(mv.from, before[mv.shardIndex]);
          assert.equal(mv.to, '5', 'with one node added, shards only move onto it');
          moved++;
        }
        // Kept shards stay on their index.
        c.target.forEach((node, j) => {
          if (!c.moves.some((mv) => mv.shardIndex === j)) assert.equal(node, before[j]);
        });
      }
    }
    // 3 of 5 nodes per chunk: the new node is in about 3/5 of placements, 1 shard each → ~20 % of shards.
    assert.ok(moved > total * 0.12 && moved < total * 0.3, `${moved} of ${total} shards moved`);
  });

  it('a drain plan moves exactly the shards on the drained node', () => {
    const without3 = new HashRing({ nodes: ['1', '2', '4', '5'], epoch: 2, vnodesPerNode: 64 });
    for (let i = 0; i < 200; i++) {
      const key = `obj-${i}`;
      const record = recordOn(ring5, key, 2);
      const plan = planObjectMoves('b', key, record, without3);
      const on3 = chunksOnNode(record, '3');
      assert.deepEqual(
        plan.chunks.map((c) => c.chunkIndex),
        on3,
      );
      for (const c of plan.chunks) {
        assert.equal(c.moves.length, 1);
        assert.equal(c.moves[0]!.from, '3');
        assert.ok(!c.target.includes('3'));
      }
    }
  });

  it('chunks wider than the ring are reported, not planned', () => {
    const small = new HashRing({ nodes: ['1', '2', '3'], epoch: 0, vnodesPerNode: 8 });
    const record = recordOn(ring5, 'w', 2, 3, 2);
    assert.deepEqual(planObjectMoves('b', 'w', record, small), { chunks: [], unplaceable: [0, 1] });
  });

  it('knows which records need another RS scheme, and filters by bucket and prefix', () => {
    assert.equal(needsMigration(recordOn(ring4, 'x', 2), { k: 2, m: 1 }), false);
    assert.equal(needsMigration(recordOn(ring4, 'x', 2), { k: 3, m: 1 }), true);
    assert.equal(needsMigration({ chunks: [] }, { k: 3, m: 1 }), false);
    assert.equal(inScope('b', 'logs/a', { bucket: 'b', prefix: 'logs/' }), true);
    assert.equal(inScope('c', 'logs/a', { bucket: 'b' }), false);
    assert.equal(inScope('b', 'img/a', { prefix: 'logs/' }), false);
    assert.deepEqual(splitObjectKey(objectKey('bucket', 'a/ü\u0001')), {
      bucket: 'bucket',
      key: 'a/ü\u0001',
    });
  });

  it('cursors and intent keys round-trip; a damaged cursor starts over', () => {
    const state = { pass: 2, after: 'ab01', done: 7, bytes: 99, failed: 1, busy: 0, changed: 3 };
    assert.deepEqual(decodeCursor(encodeCursor(state)), state);
    assert.equal(decodeCursor('zz'), undefined);
    assert.equal(decodeCursor(Buffer.from('{"x":1}').toString('hex')), undefined);
    const a = { versionId: 'ab'.repeat(16), chunkIndex: 70000, shardIndex: 4, node: '12' };
    assert.deepEqual(parseMoveIntentKey(moveIntentKey(a)), a);
  });
});
