import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexPlanner } from '../../../appliance/store/index-plan.ts';
import type { FoundRecord } from '../../../appliance/store/index-plan.ts';
import { RecordKind } from '../../../appliance/store/record-codec.ts';

let offset = 32;
function rec(key: number, kind: RecordKind, seq: number, volume = 1, length = 100): FoundRecord {
  const r: FoundRecord = {
    keyBytes: Buffer.alloc(21, key),
    kind,
    seq,
    volume,
    offset,
    length,
    rsData: 2,
    rsParity: 1,
    segments: [],
  };
  offset += length;
  return r;
}

test('newest record per key wins regardless of scan order', () => {
  const p = new IndexPlanner();
  p.addVolume(1, 1000);
  p.addVolume(2, 1000);
  p.add(rec(1, RecordKind.SHARD, 10, 2));
  p.add(rec(1, RecordKind.SHARD, 3, 1));
  p.add(rec(2, RecordKind.SHARD, 4, 1));
  p.add(rec(2, RecordKind.TOMBSTONE, 5, 1, 64));
  p.add(rec(3, RecordKind.TOMBSTONE, 6, 1, 64));
  p.add(rec(3, RecordKind.SHARD, 7, 2));
  const plan = p.finish();
  assert.deepEqual(plan.live.map((l) => [l.keyBytes[0], l.entry.seq]).sort(), [
    [1, 10],
    [3, 7],
  ]);
  assert.deepEqual(
    plan.tombstones.map((t) => t.keyBytes[0]),
    [2],
    'a tombstone with an older shard behind it is kept',
  );
  assert.deepEqual(plan.deadShards.map((d) => [d.keyBytes[0], d.volume]).sort(), [
    [1, 1],
    [2, 1],
  ]);
  assert.equal(plan.nextSeq, 11);
  const v1 = plan.volumes.find((v) => v.id === 1)!;
  const v2 = plan.volumes.find((v) => v.id === 2)!;
  assert.deepEqual([v1.liveBytes, v1.deadBytes, v1.liveShards], [64, 100 + 100 + 64, 0]);
  assert.deepEqual([v2.liveBytes, v2.deadBytes, v2.liveShards], [200, 0, 2]);
});

test('a tombstone with nothing behind it is garbage; equal-seq copies prefer the newer volume', () => {
  const p = new IndexPlanner();
  p.add(rec(1, RecordKind.TOMBSTONE, 9, 1, 64));
  p.add(rec(2, RecordKind.SHARD, 4, 1));
  p.add(rec(2, RecordKind.SHARD, 4, 3));
  const plan = p.finish();
  assert.equal(plan.tombstones.length, 0);
  assert.equal(plan.live.length, 1);
  assert.equal(plan.live[0]!.entry.volume, 3);
  assert.equal(plan.deadShards.length, 1);
});
