import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureRing, loadRing, placementRing } from '../../../shared/cluster/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';
import { decodeGarbageRecord, decodeObjectRecord } from '../../../shared/metadata/records.ts';
import {
  drainExecutor,
  rebalanceExecutor,
  JobParamError,
} from '../../../appliance/maintenance/rebalance/executors.ts';
import type { ProgressPatch, RebalanceJobContext } from '../../../appliance/maintenance/rebalance/context.ts';
import { JobStoppedError } from '../../../appliance/maintenance/rebalance/passes.ts';
import { planObjectMoves, splitObjectKey } from '../../../appliance/maintenance/rebalance/plan.ts';
import type { ShardIo } from '../../../appliance/maintenance/rebalance/shard-io.ts';
import { FakeDb, FakeShards, fakePeers } from './fakes.ts';
import { SMALL, putObject, readBack } from './objects.ts';

const ids = ['1', '2', '3', '4', '5'];
const config = {
  nodes: ids.map((id) => ({
    id: Number(id),
    host: '127.0.0.1',
    port: 1,
    advertiseHost: '127.0.0.1',
    path: '/x',
  })),
  ring: { vnodes: 32 },
  rs: { data: 2, parity: 1 },
} as unknown as ClusterConfig;

async function cluster(
  objects: number,
): Promise<{ db: FakeDb; shards: FakeShards; data: Map<string, Buffer> }> {
  const db = new FakeDb();
  const shards = new FakeShards();
  const { record } = await ensureRing(db, { ...config, nodes: config.nodes.slice(0, 4) });
  const data = new Map<string, Buffer>();
  for (let i = 0; i < objects; i++) {
    const key = `o${i}`;
    data.set(key, randomBytes(300 + i * 211));
    await putObject(db, shards, placementRing(record), 'b', key, data.get(key)!, SMALL(2, 1));
  }
  return { db, shards, data };
}

function context(
  db: FakeDb,
  shards: FakeShards,
  params: RebalanceJobContext['job']['params'],
  cursor?: string,
): { ctx: RebalanceJobContext; progress: ProgressPatch[]; controller: AbortController } {
  const controller = new AbortController();
  const progress: ProgressPatch[] = [];
  return {
    controller,
    progress,
    ctx: {
      job: {
        id: 'f'.repeat(32),
        params: { settleMs: 0, concurrency: 1, readGraceMs: 0, ...params },
        ...(cursor ? { cursor } : {}),
      },
      signal: controller.signal,
      progress: (p) => void progress.push(p),
      db: db as unknown as S3dbClient,
      shards: shards.asClient(),
      peers: fakePeers(ids),
      config,
    },
  };
}

async function placedAndIntact(db: FakeDb, shards: FakeShards, data: Map<string, Buffer>): Promise<void> {
  const ring = placementRing((await loadRing(db))!.record);
  const io: ShardIo = { shards: shards.asClient(), peers: fakePeers(ids) };
  for await (const item of db.scanAll(TABLES.objects)) {
    const { key } = splitObjectKey(item.key);
    const record = decodeObjectRecord(item.value);
    assert.deepEqual(planObjectMoves('b', key, record, ring).chunks, [], `${key} placed`);
    assert.deepEqual(await readBack(io, record), data.get(key), `${key} intact`);
  }
}

describe('rebalance executors (in-memory cluster)', () => {
  it('a stopped rebalance resumes from its cursor and finishes with the same totals', async () => {
    const { db, shards, data } = await cluster(12);
    const first = context(db, shards, { pageSize: 2 });
    let pages = 0;
    first.ctx.progress = (p) => {
      first.progress.push(p);
      if (p.cursor !== undefined && p.total === undefined && ++pages === 2) first.controller.abort();
    };
    await assert.rejects(rebalanceExecutor(first.ctx), JobStoppedError);
    const saved = first.progress[first.progress.length - 1]!;
    assert.ok((saved.done ?? 0) > 0, 'some chunks moved before the stop');
    const second = context(db, shards, { pageSize: 2 }, saved.cursor);
    const result = await rebalanceExecutor(second.ctx);
    assert.equal(result['epoch'], 1);
    const last = second.progress[second.progress.length - 1]!;
    assert.equal(last.done, last.total);
    assert.equal(result['chunks'], last.done);
    await placedAndIntact(db, shards, data);
    assert.equal(db.count(TABLES.garbage), 0);
  });

  it('with a read grace the old shards outlive the switch, listed as garbage due after the grace', async () => {
    const { db, shards, data } = await cluster(4);
    const before = Date.now();
    const result = await rebalanceExecutor(context(db, shards, { readGraceMs: 60_000 }).ctx);
    assert.ok(Number(result['chunks']) > 0);
    await placedAndIntact(db, shards, data);
    const garbage = [];
    for await (const item of db.scanAll(TABLES.garbage)) garbage.push(decodeGarbageRecord(item.value));
    assert.ok(garbage.length > 0, 'the old shards are garbage records');
    for (const g of garbage) {
      assert.ok(g.notBefore >= before + 60_000, 'due only after the grace');
      // Each old shard is still stored on its old appliance (a GET holding the old record finds it).
      for (const s of g.shards)
        assert.ok(
          shards.nodes.get(`node-${s.node}`)?.has(`${g.versionId}/${s.chunkIndex}/${s.shardIndex}`),
          `old shard on ${s.node} kept`,
        );
    }
  });

  it('drain moves everything off a node (even when it is down) and removes it', async () => {
    const { db, shards, data } = await cluster(8);
    await rebalanceExecutor(context(db, shards, {}).ctx);
    shards.down.add('node-3');
    const result = await drainExecutor(context(db, shards, { node: '3' }).ctx);
    assert.equal(result['state'], 'removed');
    for await (const item of db.scanAll(TABLES.objects))
      for (const chunk of decodeObjectRecord(item.value).chunks) assert.ok(!chunk.nodes.includes('3'));
    // The old shards on the dead node stay listed as garbage for when it comes back.
    assert.ok(db.count(TABLES.garbage) > 0);
    await placedAndIntact(db, shards, data);
    await assert.rejects(drainExecutor(context(db, shards, {}).ctx), JobParamError);
    await assert.rejects(drainExecutor(context(db, shards, { node: '9' }).ctx), JobParamError);
  });

  it('rebalance refuses an appliance that is not in the config', async () => {
    const { db, shards } = await cluster(1);
    await assert.rejects(
      rebalanceExecutor(context(db, shards, { add: '7' }).ctx),
      /not in this appliance's config/,
    );
  });
});
