import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TABLES } from '../../../shared/metadata/keys.ts';
import { RECORD_FORMAT, encodeGarbageRecord } from '../../../shared/metadata/records.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import {
  awaitOldShardsDeleted,
  garbageOnNode,
} from '../../../appliance/maintenance/rebalance/garbage-wait.ts';
import { FakeDb, FakeShards, fakePeers } from './fakes.ts';

function garbage(nodes: string[]): Uint8Array {
  return encodeGarbageRecord({
    v: RECORD_FORMAT,
    versionId: 'ab'.repeat(16),
    reason: 'rebalance',
    created: 1,
    notBefore: 0,
    attempts: 0,
    shards: nodes.map((node, i) => ({ chunkIndex: 0, shardIndex: i, node })),
  });
}

function setup(): { db: FakeDb; shards: FakeShards; ctx: { db: S3dbClient; signal: AbortSignal } } {
  const db = new FakeDb();
  return {
    db,
    shards: new FakeShards(),
    ctx: { db: db as unknown as S3dbClient, signal: new AbortController().signal },
  };
}

describe('drain: waiting for the old shards on the drained node to be deleted', () => {
  it('counts only the garbage records that name the node', async () => {
    const { db, ctx } = setup();
    await db.put(TABLES.garbage, 'g1', garbage(['2', '3']));
    await db.put(TABLES.garbage, 'g2', garbage(['3']));
    await db.put(TABLES.garbage, 'g3', new Uint8Array([1, 2, 3]));
    assert.equal(await garbageOnNode(ctx.db, '3'), 2);
    assert.equal(await garbageOnNode(ctx.db, '2'), 1);
    assert.equal(await garbageOnNode(ctx.db, '9'), 0);
  });

  it('returns once the garbage workers have removed the records of a reachable node', async () => {
    const { db, shards, ctx } = setup();
    await db.put(TABLES.garbage, 'g1', garbage(['2']));
    const io = { shards: shards.asClient(), peers: fakePeers(['1', '2']) };
    setTimeout(() => void db.delete(TABLES.garbage, 'g1'), 30);
    assert.equal(await awaitOldShardsDeleted(ctx, io, '2', 5000, 5), 0);
  });

  it('does not wait for a node that is down (its records stay for when it returns)', async () => {
    const { db, shards, ctx } = setup();
    await db.put(TABLES.garbage, 'g1', garbage(['2']));
    shards.down.add('node-2');
    const io = { shards: shards.asClient(), peers: fakePeers(['1', '2']) };
    assert.equal(await awaitOldShardsDeleted(ctx, io, '2', 5000, 5), 1);
  });

  it('fails with a clear message when the records never go', async () => {
    const { db, shards, ctx } = setup();
    await db.put(TABLES.garbage, 'g1', garbage(['2']));
    const io = { shards: shards.asClient(), peers: fakePeers(['1', '2']) };
    await assert.rejects(
      awaitOldShardsDeleted(ctx, io, '2', 40, 5),
      /garbage records still name shards on node 2/,
    );
  });
});
