import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HashRing } from '../../../shared/ring/index.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeGarbageRecord, encodeObjectRecord } from '../../../shared/metadata/records.ts';
import { moveChunk } from '../../../appliance/maintenance/rebalance/move-chunk.ts';
import type { MoveEnv } from '../../../appliance/maintenance/rebalance/move-chunk.ts';
import { migrateObject } from '../../../appliance/maintenance/rebalance/migrate-object.ts';
import { MOVES_TABLE, cleanStaleIntents } from '../../../appliance/maintenance/rebalance/intents.ts';
import { planObjectMoves } from '../../../appliance/maintenance/rebalance/plan.ts';
import type { ShardIo } from '../../../appliance/maintenance/rebalance/shard-io.ts';
import { FakeDb, FakeShards, fakePeers } from './fakes.ts';
import { SMALL, getRecord, putObject, readBack } from './objects.ts';

const ids = ['1', '2', '3', '4', '5'];
const ring4 = new HashRing({ nodes: ids.slice(0, 4), epoch: 0, vnodesPerNode: 32 });
const ring5 = new HashRing({ nodes: ids, epoch: 1, vnodesPerNode: 32 });

function setup(): { db: FakeDb; shards: FakeShards; io: ShardIo; env: MoveEnv } {
  const db = new FakeDb();
  const shards = new FakeShards();
  const io: ShardIo = { shards: shards.asClient(), peers: fakePeers(ids) };
  return { db, shards, io, env: { db, io, jobId: 'job-a', epoch: 1 } };
}

/** An object (several chunks) with at least one chunk that moves when node 5 joins. */
async function movingObject(db: FakeDb, shards: FakeShards): Promise<{ key: string; data: Buffer }> {
  for (let i = 0; i < 100; i++) {
    const key = `k${i}`;
    const data = randomBytes(2500);
    const record = await putObject(db, shards, ring4, 'b', key, data, SMALL(2, 1));
    if (planObjectMoves('b', key, record, ring5).chunks.length > 0) return { key, data };
  }
  throw new Error('no object moves');
}

describe('moving a chunk (copy → switch → delete)', () => {
  it('copies, switches the record, deletes the old shard and leaves no intent or garbage', async () => {
    const { db, shards, io, env } = setup();
    const { key, data } = await movingObject(db, shards);
    const before = await getRecord(db, 'b', key);
    const plan = planObjectMoves('b', key, before.record, ring5).chunks[0]!;
    const out = await moveChunk(env, { bucket: 'b', key, ...before }, plan);
    assert.equal(out.kind, 'moved');
    const after = await getRecord(db, 'b', key);
    assert.deepEqual(after.record.chunks[plan.chunkIndex]!.nodes, plan.target);
    assert.equal(after.record.chunks[plan.chunkIndex]!.epoch, 1);
    for (const mv of plan.moves) {
      assert.ok(shards.has(mv.to, before.record.versionId, plan.chunkIndex, mv.shardIndex));
      assert.ok(!shards.has(mv.from, before.record.versionId, plan.chunkIndex, mv.shardIndex));
    }
    assert.equal(db.count(MOVES_TABLE), 0);
    assert.equal(db.count(TABLES.garbage), 0);
    assert.deepEqual(await readBack(io, after.record), data);
  });

  it('rebuilds the shard from the others when its appliance is down, and leaves the old one as garbage', async () => {
    const { db, shards, io, env } = setup();
    const { key, data } = await movingObject(db, shards);
    const before = await getRecord(db, 'b', key);
    const plan = planObjectMoves('b', key, before.record, ring5).chunks[0]!;
    const from = plan.moves[0]!.from;
    shards.down.add(`node-${from}`);
    const out = await moveChunk(env, { bucket: 'b', key, ...before }, plan);
    assert.equal(out.kind, 'moved');
    assert.equal(out.kind === 'moved' && out.rebuilt, 1);
    assert.equal(out.kind === 'moved' && out.oldLeft, 1);
    const garbage = [...(await db.scan(TABLES.garbage)).items].map((i) => decodeGarbageRecord(i.value));
    assert.equal(garbage.length, 1);
    assert.equal(garbage[0]!.reason, 'rebalance');
    assert.deepEqual(
      garbage[0]!.shards.map((s) => s.node),
      [from],
    );
    shards.down.clear();
    assert.deepEqual(await readBack(io, (await getRecord(db, 'b', key)).record), data);
  });

  it('an overwrite during the copy wins: the copies are dropped and the new record is untouched', async () => {
    const { db, shards, env } = setup();
    const { key } = await movingObject(db, shards);
    const before = await getRecord(db, 'b', key);
    const plan = planObjectMoves('b', key, before.record, ring5).chunks[0]!;
    const newer = await putObject(db, shards, ring4, 'b', 'other', randomBytes(100), SMALL(2, 1));
    // The batch that claims the intents passes; the switch batch finds the record overwritten.
    let batches = 0;
    const original = db.batch.bind(db);
    db.batch = async (pre, ops) => {
      if (++batches === 2) await db.put(TABLES.objects, objectKey('b', key), encodeObjectRecord(newer));
      return original(pre, ops);
    };
    const out = await moveChunk(env, { bucket: 'b', key, ...before }, plan);
    assert.equal(out.kind, 'changed');
    assert.equal((await getRecord(db, 'b', key)).record.versionId, newer.versionId);
    for (const mv of plan.moves)
      assert.ok(!shards.has(mv.to, before.record.versionId, plan.chunkIndex, mv.shardIndex));
    for (const mv of plan.moves)
      assert.ok(shards.has(mv.from, before.record.versionId, plan.chunkIndex, mv.shardIndex));
    assert.equal(db.count(MOVES_TABLE), 0);
  });

  it('a tag update during the copy does not lose the move (switches on the new record)', async () => {
    const { db, shards, env } = setup();
    const { key } = await movingObject(db, shards);
    const before = await getRecord(db, 'b', key);
    const plan = planObjectMoves('b', key, before.record, ring5).chunks[0]!;
    let batches = 0;
    const original = db.batch.bind(db);
    db.batch = async (pre, ops) => {
      if (++batches === 2)
        await db.put(
          TABLES.objects,
          objectKey('b', key),
          encodeObjectRecord({ ...before.record, tags: [{ key: 't', value: 'v' }] }),
        );
      return original(pre, ops);
    };
    const out = await moveChunk(env, { bucket: 'b', key, ...before }, plan);
    assert.equal(out.kind, 'moved');
    const after = (await getRecord(db, 'b', key)).record;
    assert.deepEqual(after.tags, [{ key: 't', value: 'v' }]);
    assert.deepEqual(after.chunks[plan.chunkIndex]!.nodes, plan.target);
  });

  it('a second mover of the same shard is refused; a crashed mover’s copy is cleaned, a live one kept', async () => {
    const { db, shards, io, env } = setup();
    const { key } = await movingObject(db, shards);
    const before = await getRecord(db, 'b', key);
    const plan = planObjectMoves('b', key, before.record, ring5).chunks[0]!;
    // Simulate a crash after the copy: intents written and copies made, no switch.
    let batches = 0;
    const original = db.batch.bind(db);
    db.batch = async (pre, ops) => {
      if (++batches === 2) throw new Error('crash before the switch');
      return original(pre, ops);
    };
    await assert.rejects(moveChunk(env, { bucket: 'b', key, ...before }, plan), /crash/);
    db.batch = original;
    assert.equal(db.count(MOVES_TABLE), plan.moves.length);
    const again = await moveChunk({ ...env, jobId: 'job-b' }, { bucket: 'b', key, ...before }, plan);
    assert.equal(again.kind, 'busy');
    // A fresh intent of another job is left alone; the crashed job's own intents are cleaned.
    assert.deepEqual(await cleanStaleIntents(db, io, 'job-b', 60_000), { cleaned: 0, left: 0 });
    assert.deepEqual(await cleanStaleIntents(db, io, 'job-a', 60_000), {
      cleaned: plan.moves.length,
      left: 0,
    });
    for (const mv of plan.moves)
      assert.ok(!shards.has(mv.to, before.record.versionId, plan.chunkIndex, mv.shardIndex));
    assert.equal((await moveChunk(env, { bucket: 'b', key, ...before }, plan)).kind, 'moved');
  });
});

describe('migrating an object to another RS scheme', () => {
  it('re-encodes RS(2,1) → RS(3,2) under a new data id, keeps version and ETag, garbage-free', async () => {
    const { db, shards, io } = setup();
    const data = randomBytes(5000);
    const before = await putObject(db, shards, ring5, 'b', 'mig', data, SMALL(2, 1));
    const stored = await getRecord(db, 'b', 'mig');
    const out = await migrateObject(
      { db, io, ring: ring5, scheme: { k: 3, m: 2 }, maxChunkSize: 1024 },
      { bucket: 'b', key: 'mig', ...stored },
    );
    assert.equal(out.kind, 'migrated');
    const after = (await getRecord(db, 'b', 'mig')).record;
    assert.equal(after.versionId, before.versionId);
    assert.equal(after.etag, before.etag);
    assert.ok(after.chunks.every((c) => c.k === 3 && c.m === 2 && c.data !== undefined));
    assert.equal(after.chunkSize, 3 * 64 * 5);
    assert.deepEqual(await readBack(io, after), data);
    for (let c = 0; c < before.chunks.length; c++)
      before.chunks[c]!.nodes.forEach((node, j) => assert.ok(!shards.has(node, before.versionId, c, j)));
    assert.equal(db.count(TABLES.garbage), 0);
  });

  it('an object deleted during the migration stays deleted and the new shards are dropped', async () => {
    const { db, shards, io } = setup();
    await putObject(db, shards, ring5, 'b', 'gone', randomBytes(3000), SMALL(2, 1));
    const stored = await getRecord(db, 'b', 'gone');
    const original = db.batch.bind(db);
    let batches = 0;
    db.batch = async (pre, ops) => {
      if (++batches === 2) await db.delete(TABLES.objects, objectKey('b', 'gone'));
      return original(pre, ops);
    };
    const out = await migrateObject(
      { db, io, ring: ring5, scheme: { k: 3, m: 2 }, maxChunkSize: 1024 },
      { bucket: 'b', key: 'gone', ...stored },
    );
    assert.equal(out.kind, 'changed');
    assert.equal(await db.get(TABLES.objects, objectKey('b', 'gone')), undefined);
    const left = [...shards.nodes.values()]
      .flatMap((n) => [...n.keys()])
      .filter((k) => !k.startsWith(stored.record.versionId));
    assert.deepEqual(left, [], 'no shard of the new data id is left');
    assert.equal(db.count(TABLES.garbage), 0);
  });
});
