import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftLog } from '../../../appliance/s3db/raft/log.ts';
import { RaftUsageError } from '../../../appliance/s3db/raft/errors.ts';
import type { Entry } from '../../../appliance/s3db/raft/types.ts';

const e = (index: number, term: number, text = ''): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});

test('stored entries are stable; appended ones are unstable until stableTo', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 1)], 1, 0);
  assert.equal(log.lastIndex(), 2);
  assert.equal(log.unstableEntries().length, 0);
  log.append([e(3, 2), e(4, 2)]);
  assert.deepEqual(
    log.unstableEntries().map((x) => x.index),
    [3, 4],
  );
  log.stableTo(4, 1); // wrong term: ignored
  assert.equal(log.unstableEntries().length, 2);
  log.stableTo(4, 2);
  assert.equal(log.unstableEntries().length, 0);
});

test('maybeAppend: rejects a mismatched prev entry, truncates conflicts, commits up to the last new entry', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 1), e(3, 1)], 1, 0);
  assert.equal(log.maybeAppend(3, 2, 3, [e(4, 2)]), undefined, 'prev term mismatch');
  assert.equal(log.maybeAppend(1, 1, 10, [e(2, 2), e(3, 2)]), 3);
  assert.equal(log.term(2), 2);
  assert.equal(log.committed, 3, 'commit capped at last new index');
  assert.equal(log.stableIndex, 1, 'overwritten suffix is unstable again');
  assert.equal(log.maybeAppend(1, 1, 3, [e(2, 2)]), 2, 'an already-present prefix changes nothing');
  assert.equal(log.lastIndex(), 3);
});

test('refuses to overwrite committed entries', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 1)], 2, 0);
  assert.throws(() => log.append([e(2, 3)]), RaftUsageError);
  assert.throws(() => log.maybeAppend(1, 1, 2, [e(2, 3)]), RaftUsageError);
  assert.throws(() => log.append([e(5, 3)]), RaftUsageError, 'gap');
});

test('findConflictByTerm skips whole terms', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 1), e(3, 2), e(4, 2), e(5, 4)], 0, 0);
  assert.equal(log.findConflictByTerm(5, 3), 4);
  assert.equal(log.findConflictByTerm(5, 1), 2);
  assert.equal(log.findConflictByTerm(10, 4), 5);
  assert.equal(log.findConflictByTerm(5, 0), 0);
});

test('isUpToDate compares last term, then last index', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 2)], 0, 0);
  assert.ok(log.isUpToDate(1, 3));
  assert.ok(log.isUpToDate(2, 2));
  assert.ok(!log.isUpToDate(1, 2));
  assert.ok(!log.isUpToDate(9, 1));
});

test('compaction keeps the snapshot term, drops entries, and refuses unapplied indexes', () => {
  const log = new RaftLog(undefined, [e(1, 1), e(2, 1), e(3, 2), e(4, 2)], 4, 3);
  assert.throws(() => log.compact(4, new Uint8Array(), [1]), RaftUsageError);
  const snap = log.compact(3, new Uint8Array([9]), [1, 2]);
  assert.deepEqual(snap.metadata, { index: 3, term: 2, voters: [1, 2] });
  assert.equal(log.firstIndex(), 4);
  assert.equal(log.term(3), 2);
  assert.equal(log.term(2), undefined);
  assert.equal(log.slice(3, 5), undefined, 'compacted range');
  assert.deepEqual(
    log.slice(4, 5)!.map((x) => x.index),
    [4],
  );
});

test('restore from a leader snapshot replaces the log and marks the snapshot pending', () => {
  const log = new RaftLog(undefined, [e(1, 1)], 1, 1);
  log.restore({ metadata: { index: 10, term: 3, voters: [1] }, data: new Uint8Array() });
  assert.equal(log.lastIndex(), 10);
  assert.equal(log.committed, 10);
  assert.ok(log.hasUnstable());
  log.snapshotStable(10);
  assert.ok(!log.hasUnstable());
  log.append([e(11, 3)]);
  assert.equal(log.unstableEntries()[0]!.index, 11);
});

test('slice respects the byte budget but always returns at least one entry', () => {
  const log = new RaftLog(undefined, [e(1, 1, 'aaaa'), e(2, 1, 'bbbb'), e(3, 1, 'cccc')], 0, 0);
  assert.equal(log.slice(1, 4, 1)!.length, 1);
  assert.equal(log.slice(1, 4, 8)!.length, 2);
  assert.equal(log.slice(1, 4)!.length, 3);
});

test('bad stored state is refused', () => {
  assert.throws(() => new RaftLog(undefined, [e(2, 1)], 0, 0), RaftUsageError);
  assert.throws(() => new RaftLog(undefined, [e(1, 1)], 2, 0), RaftUsageError);
  assert.throws(() => new RaftLog(undefined, [e(1, 1)], 0, 1), RaftUsageError);
});
