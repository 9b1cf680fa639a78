import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repairChunk } from '../../../appliance/maintenance/chunk-repair.ts';
import type { RepairContext } from '../../../appliance/maintenance/chunk-repair.ts';
import { membershipOf } from '../../../appliance/maintenance/membership.ts';
import { RateLimiter } from '../../../appliance/maintenance/rate-limit.ts';
import { emptyStats } from '../../../appliance/maintenance/stats.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, encodeObjectRecord } from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import { MemoryDb } from '../jobs/memory-db.ts';
import { FakeShards, storeObject } from './fakes.ts';

const NODES = ['1', '2', '3', '4', '5', '6'];

function setup(configured = NODES) {
  const fake = new FakeShards(NODES);
  const db = new MemoryDb();
  const stats = emptyStats(1);
  const config = { nodes: configured.map((id) => ({ id: Number(id) })), ring: { vnodes: 8 } } as never;
  const ctx: RepairContext = {
    db,
    shards: fake as never,
    peers: fake.peers(),
    membership: async () => membershipOf(config, undefined),
    limiter: new RateLimiter(1e12),
    timeoutMs: 1000,
    minBytesPerMs: 1,
    concurrency: 1,
    stats,
  };
  return { fake, db, ctx, stats };
}

async function saveRecord(db: MemoryDb, record: ObjectRecord): Promise<void> {
  await db.put(TABLES.objects, objectKey('b', 'k'), encodeObjectRecord(record));
}

test('a healthy chunk: nothing written', async () => {
  const { fake, ctx } = setup();
  const { record } = await storeObject(fake, ['1', '2', '3', '4', '5'], 1000, 3, 2);
  const r = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 });
  assert.equal(r.status, 'healthy');
  assert.equal(fake.puts, 0);
});

test('missing and corrupt shards are rebuilt bit-exact on their appliances', async () => {
  const { fake, ctx, stats } = setup();
  const { record, shards } = await storeObject(fake, ['1', '2', '3', '4', '5'], 1000, 3, 2);
  const v = record.versionId;
  fake.stores.get('1')!.delete(`${v}/0/0`); // a data shard lost
  fake.corrupt.add(`4:${v}/0/3`); // a parity shard that fails its CRC when read
  const r = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 }, [3]);
  assert.equal(r.status, 'repaired');
  assert.deepEqual(r.rebuilt, [0, 3]);
  assert.deepEqual(fake.has('1', v, 0, 0), shards[0]);
  assert.deepEqual(fake.has('4', v, 0, 3), shards[3]);
  assert.equal(stats.repair.shardsRebuilt, 2);
  assert.ok(stats.repair.bytesRebuilt > 0);
  // Without the suspect hint a corrupt shard passes STAT: it takes a read to find it.
  fake.corrupt.add(`5:${v}/0/4`);
  assert.equal((await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 })).status, 'healthy');
  assert.equal(
    (await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 }, [4])).status,
    'repaired',
  );
  assert.deepEqual(fake.has('5', v, 0, 4), shards[4]);
});

test('an appliance that does not answer blocks the chunk (nothing can be confirmed there)', async () => {
  const { fake, ctx } = setup();
  const { record } = await storeObject(fake, ['1', '2', '3', '4', '5'], 500, 3, 2);
  fake.down.add('2');
  fake.stores.get('3')!.clear();
  const r = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 }, [1]);
  assert.equal(r.status, 'blocked');
  assert.deepEqual(r.rebuilt, [2], 'what can be rebuilt is rebuilt');
  assert.deepEqual(r.blocked, [1]);
  assert.deepEqual(r.unreachable, ['2']);
  fake.down.add('4');
  fake.down.add('5');
  const none = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 });
  assert.equal(none.status, 'blocked');
  assert.match(none.detail ?? '', /readable|no answer/);
});

test('a gone appliance: the shard moves to a replacement and the record placement switches by CAS', async () => {
  const { fake, db, ctx, stats } = setup(['1', '2', '3', '4', '6']); // node 5 left the config
  const { record, shards } = await storeObject(fake, ['1', '2', '3', '4', '5'], 777, 3, 2);
  await saveRecord(db, record);
  const r = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 });
  assert.equal(r.status, 'repaired');
  assert.deepEqual(r.replaced, [{ shardIndex: 4, from: '5', to: '6' }]);
  assert.deepEqual(fake.has('6', record.versionId, 0, 4), shards[4]);
  const stored = decodeObjectRecord((await db.get(TABLES.objects, objectKey('b', 'k')))!.value);
  assert.deepEqual(stored.chunks[0]!.nodes, ['1', '2', '3', '4', '6']);
  assert.equal(stats.repair.shardsReplaced, 1);
});

test('a gone appliance and an overwrite meanwhile: the copy is dropped, the new record untouched', async () => {
  const { fake, db, ctx } = setup(['1', '2', '3', '4', '6']);
  const { record } = await storeObject(fake, ['1', '2', '3', '4', '5'], 777, 3, 2);
  const newer = { ...record, versionId: 'ab'.repeat(16) };
  await saveRecord(db, newer);
  const r = await repairChunk(ctx, { bucket: 'b', key: 'k', record, chunkIndex: 0 });
  assert.equal(r.status, 'gone');
  assert.equal(fake.has('6', record.versionId, 0, 4), undefined, 'the orphan copy was deleted');
  const stored = decodeObjectRecord((await db.get(TABLES.objects, objectKey('b', 'k')))!.value);
  assert.deepEqual(stored, newer);
});
