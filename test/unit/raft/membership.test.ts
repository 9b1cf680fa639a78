import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyConfChange,
  ConfHistory,
  decodeConfChange,
  encodeConfChange,
} from '../../../appliance/s3db/raft/membership.ts';
import { RaftCodecError } from '../../../appliance/s3db/raft/errors.ts';

test('conf change codec round-trips and rejects garbage', () => {
  for (const cc of [
    { type: 'addNode', nodeId: 1 },
    { type: 'removeNode', nodeId: 4_000_000_000 },
  ] as const) {
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  }
  assert.throws(() => decodeConfChange(new Uint8Array([1, 0, 0, 0])), RaftCodecError);
  assert.throws(() => decodeConfChange(new Uint8Array([7, 0, 0, 0, 1])), RaftCodecError);
  assert.throws(() => decodeConfChange(new Uint8Array([1, 0, 0, 0, 0])), RaftCodecError);
});

test('applying changes gives a sorted voter set; repeats are no-ops', () => {
  let v = applyConfChange([3, 1], { type: 'addNode', nodeId: 2 });
  assert.deepEqual(v, [1, 2, 3]);
  v = applyConfChange(v, { type: 'addNode', nodeId: 2 });
  assert.deepEqual(v, [1, 2, 3]);
  v = applyConfChange(v, { type: 'removeNode', nodeId: 1 });
  assert.deepEqual(v, [2, 3]);
});

test('history answers the voters at an index and prunes what a snapshot covers', () => {
  const h = new ConfHistory(0, [1, 2, 3]);
  h.record(10, [1, 2, 3, 4]);
  h.record(20, [2, 3, 4]);
  assert.deepEqual(h.votersAt(5), [1, 2, 3]);
  assert.deepEqual(h.votersAt(10), [1, 2, 3, 4]);
  assert.deepEqual(h.votersAt(25), [2, 3, 4]);
  h.pruneBefore(15);
  assert.deepEqual(h.votersAt(15), [1, 2, 3, 4]);
  assert.deepEqual(h.votersAt(20), [2, 3, 4]);
});
