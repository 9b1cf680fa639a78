import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GarbageCollector } from '../../../appliance/maintenance/garbage.ts';
import { membershipOf } from '../../../appliance/maintenance/membership.ts';
import { RateLimiter } from '../../../appliance/maintenance/rate-limit.ts';
import { emptyStats } from '../../../appliance/maintenance/stats.ts';
import { TABLES, garbageKey } from '../../../shared/metadata/keys.ts';
import { decodeGarbageRecord, encodeGarbageRecord } from '../../../shared/metadata/records.ts';
import type { GarbageRecord } from '../../../shared/metadata/records.ts';
import { MemoryDb } from '../jobs/memory-db.ts';
import { FakeShards } from './fakes.ts';

test('garbage: shards deleted (a gone appliance counts as done), record removed; a down one keeps the rest with backoff', async () => {
  const fake = new FakeShards(['1', '2', '3']);
  const db = new MemoryDb();
  const stats = emptyStats(1);
  const config = { nodes: [1, 2, 3].map((id) => ({ id })), ring: { vnodes: 8 } } as never;
  const gc = new GarbageCollector({
    db,
    shards: fake as never,
    peers: fake.peers(),
    membership: async () => membershipOf(config, undefined),
    limiter: new RateLimiter(1e9),
    leaseMs: 10_000,
    pollMs: 10,
    retryBaseMs: 1000,
    retryMaxMs: 5000,
    deleteTimeoutMs: 100,
    stats,
    log: () => {},
  });
  const v = 'aa'.repeat(16);
  const other = 'bb'.repeat(16);
  fake.stores.get('1')!.set(`${v}/0/0`, { segments: [Buffer.from('x')], k: 1, m: 1 });
  fake.stores.get('2')!.set(`${other}/3/1`, { segments: [Buffer.from('y')], k: 1, m: 1 });
  const record = (over: Partial<GarbageRecord>): GarbageRecord => ({
    v: 1,
    versionId: v,
    reason: 'overwrite',
    created: 0,
    notBefore: 0,
    attempts: 0,
    shards: [
      { chunkIndex: 0, shardIndex: 0, node: '1' },
      { versionId: other, chunkIndex: 3, shardIndex: 1, node: '2' },
      { chunkIndex: 0, shardIndex: 2, node: '9' }, // an appliance no longer in the config
    ],
    ...over,
  });
  const done = garbageKey(Buffer.from(v, 'hex'), 1);
  const leased = garbageKey(Buffer.from(v, 'hex'), 2);
  await db.put(TABLES.garbage, done, encodeGarbageRecord(record({})));
  await db.put(TABLES.garbage, leased, encodeGarbageRecord(record({ notBefore: Date.now() + 60_000 })));
  const pass = await gc.passOnce();
  assert.deepEqual(pass, { finished: 1, due: 1, wrapped: true });
  assert.equal(fake.has('1', v, 0, 0), undefined);
  assert.equal(fake.has('2', other, 3, 1), undefined, 'deleted where the ref says the data is');
  assert.equal(await db.get(TABLES.garbage, done), undefined);
  assert.ok(await db.get(TABLES.garbage, leased), 'a record leased by another appliance is left alone');
  assert.equal(stats.gc.recordsDone, 1);

  const late = garbageKey(Buffer.from(v, 'hex'), 3);
  fake.stores.get('1')!.set(`${v}/0/0`, { segments: [Buffer.from('x')], k: 1, m: 1 });
  await db.put(TABLES.garbage, late, encodeGarbageRecord(record({})));
  fake.down.add('2');
  await gc.passOnce();
  const kept = decodeGarbageRecord((await db.get(TABLES.garbage, late))!.value);
  assert.deepEqual(kept.shards, [{ versionId: other, chunkIndex: 3, shardIndex: 1, node: '2' }]);
  assert.equal(kept.attempts, 1);
  assert.ok(kept.notBefore > Date.now(), 'retried later');
});
