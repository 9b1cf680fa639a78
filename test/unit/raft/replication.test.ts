import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from '../../../appliance/s3db/raft/log.ts';
import { commitIndex, nextProbeIndex, rejectHint } from '../../../appliance/s3db/raft/replication.ts';
import type { Entry } from '../../../appliance/s3db/raft/types.ts';

const log = (terms: number[], committed = 0): RaftLog =>
  new RaftLog(
    undefined,
    terms.map((term, i): Entry => ({ index: i + 1, term, type: 'normal', data: new Uint8Array() })),
    committed,
    0,
  );

test('follower hint skips the conflicting term (etcd example: leader term 5 probing at 9)', () => {
  // follower: terms 1 1 1 4 4 4 4 (indexes 1..7); leader probes prev (9, 5)
  const hint = rejectHint(log([1, 1, 1, 4, 4, 4, 4]), 9, 5);
  assert.deepEqual(hint, { index: 7, term: 4 });
  // leader log 1 1 1 4 4 5 5 5 5: the last index with term <= 4 is 5
  assert.equal(nextProbeIndex(log([1, 1, 1, 4, 4, 5, 5, 5, 5]), hint.index, hint.term), 5);
});

test('hint for a follower whose log is too short is its last index', () => {
  assert.deepEqual(rejectHint(log([1, 1]), 6, 3), { index: 2, term: 1 });
  assert.equal(nextProbeIndex(log([1, 1, 2]), 2, 0), 2, 'no term in the hint: use its index as is');
});

test('commit index: quorum match, current term only, never backwards', () => {
  const l = log([1, 1, 2, 3, 3], 1);
  const match = (m: Record<number, number>) => (id: number) => m[id] ?? 0;
  assert.equal(
    commitIndex(l, 3, [1, 2, 3], match({ 1: 5, 2: 3, 3: 3 })),
    undefined,
    'index 3 is from term 2',
  );
  assert.equal(commitIndex(l, 3, [1, 2, 3], match({ 1: 5, 2: 4, 3: 0 })), 4);
  assert.equal(commitIndex(l, 3, [1, 2, 3, 4, 5], match({ 1: 5, 2: 5, 3: 0, 4: 0, 5: 0 })), undefined);
  assert.equal(commitIndex(l, 3, [1, 2, 3, 4, 5], match({ 1: 5, 2: 5, 3: 5 })), 5);
  assert.equal(
    commitIndex(log([1, 1], 2), 1, [1], () => 1),
    undefined,
    'below committed',
  );
  assert.equal(
    commitIndex(l, 3, [], () => 5),
    undefined,
  );
});
