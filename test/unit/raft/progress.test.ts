import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights, Progress, quorum, quorumMatchIndex } from '../../../appliance/s3db/raft/progress.ts';

test('quorum arithmetic', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
  assert.equal(quorumMatchIndex([5, 3, 9]), 5);
  assert.equal(quorumMatchIndex([5, 3, 9, 1]), 3);
  assert.equal(quorumMatchIndex([7]), 7);
});

test('inflights: bounded window freed by acks', () => {
  const inf = new Inflights(3);
  inf.add(5);
  inf.add(7);
  inf.add(9);
  assert.ok(inf.full());
  inf.freeLE(7);
  assert.equal(inf.count(), 1);
  assert.ok(!inf.full());
  inf.add(11);
  inf.add(13);
  inf.freeFirstOne();
  assert.equal(inf.count(), 2);
  inf.freeLE(11);
  assert.equal(inf.count(), 1, 'the freed slot was the oldest (9)');
});

test('probe → replicate, pausing and back-off', () => {
  const pr = new Progress(11, 2);
  assert.equal(pr.state, 'probe');
  pr.probeSent = true;
  assert.ok(pr.isPaused());
  assert.ok(!pr.maybeDecrTo(5, 3), 'stale rejection (not for next-1)');
  assert.ok(pr.maybeDecrTo(10, 6));
  assert.equal(pr.next, 7);
  assert.ok(!pr.isPaused());
  assert.ok(pr.maybeUpdate(8));
  pr.becomeReplicate();
  assert.equal(pr.next, 9);
  pr.optimisticUpdate(12);
  pr.inflights.add(12);
  pr.inflights.add(14);
  assert.ok(pr.isPaused(), 'window full');
  assert.ok(!pr.maybeDecrTo(8, 0), 'rejection at or below match is stale');
  assert.ok(pr.maybeDecrTo(12, 0));
  assert.equal(pr.next, 9);
});

test('snapshot state pauses until the follower reaches the snapshot', () => {
  const pr = new Progress(1, 4);
  pr.becomeSnapshot(50);
  assert.ok(pr.isPaused());
  pr.becomeProbe();
  assert.equal(pr.next, 51, 'probe after the snapshot it was sent');
});
