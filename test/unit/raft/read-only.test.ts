import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadOnlyQueue } from '../../../appliance/s3db/raft/read-only.ts';

const ctx = (s: string) => new TextEncoder().encode(s);

test('a read is released only with a quorum of acks, and releases earlier reads with it', () => {
  const q = new ReadOnlyQueue();
  const voters = [1, 2, 3, 4, 5];
  assert.ok(q.add(10, 1, ctx('a'), 1));
  assert.ok(q.add(12, 3, ctx('b'), 1));
  assert.ok(!q.add(12, 3, ctx('b'), 1), 'duplicate ctx ignored');
  assert.deepEqual(q.lastPendingCtx(), ctx('b'));
  assert.ok(!q.hasQuorum(ctx('b'), 2, voters));
  assert.ok(!q.hasQuorum(ctx('b'), 2, voters), 'the same ack twice is one ack');
  assert.ok(!q.hasQuorum(ctx('b'), 9, voters), 'acks from non-voters do not count');
  assert.ok(q.hasQuorum(ctx('b'), 4, voters));
  const released = q.advance(ctx('b'));
  assert.deepEqual(
    released.map((r) => [r.index, r.from]),
    [
      [10, 1],
      [12, 3],
    ],
  );
  assert.equal(q.size(), 0);
  assert.equal(q.ack(ctx('zzz'), 2, voters), 0);
});
