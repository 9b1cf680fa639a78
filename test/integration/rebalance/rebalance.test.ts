// Cluster evolution on real processes (1 s3db + 7 appliances, RS(3,2), 4 KiB segments, 32 KiB
// chunks) — issue #9's scenario at small scale (the 5 000-object run is `npm run test:scale`):
// objects written on 5 appliances; appliances 6 and 7 join and the rebalance job moves chunks onto
// them; migrate-rs re-encodes everything to RS(4,2); node 2 is drained and removed.
// A reader loop checks every object bit-exact throughout; afterwards no appliance holds a shard that
// no record names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { ensureRing, loadRing, placementRing } from '../../../shared/cluster/index.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, shardLocation } from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import { createJob, getJob } from '../../../shared/jobs/index.ts';
import { migrateRsExecutor, rebalanceExecutor } from '../../../appliance/maintenance/rebalance/executors.ts';
import type { ProgressPatch, RebalanceJobContext } from '../../../appliance/maintenance/rebalance/context.ts';
import { peersFromConfig } from '../../../appliance/maintenance/rebalance/context.ts';
import { MOVES_TABLE } from '../../../appliance/maintenance/rebalance/intents.ts';
import { planObjectMoves, splitObjectKey } from '../../../appliance/maintenance/rebalance/plan.ts';
import { garbageDrained, putRetrying, startRebalanceCluster } from './cluster.ts';
import type { RebalanceCluster } from './cluster.ts';

const BUCKET = 'rebal';
const ALL = ['1', '2', '3', '4', '5', '6', '7'];
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('rebalance, migrate-rs and drain on a real cluster', { timeout: 300_000 }, () => {
  let cluster: RebalanceCluster;
  let backend: DistributedBackend;
  const objects = new Map<string, string>(); // key → MD5 of its content
  const reads = { ok: 0, errors: [] as string[] };
  let reading = true;
  let readerLoop: Promise<void> | undefined;

  async function put(key: string, data: Buffer): Promise<void> {
    await putRetrying(backend, BUCKET, key, data);
    objects.set(key, md5(data));
  }

  async function readMd5(key: string): Promise<string> {
    const got = await backend.getObject(BUCKET, key);
    const hash = createHash('md5');
    for await (const piece of got.body) hash.update(piece);
    return hash.digest('hex');
  }

  async function records(): Promise<{ key: string; record: ObjectRecord }[]> {
    const out = [];
    for await (const item of cluster.db.scanAll(TABLES.objects, { limit: 500 }))
      out.push({ key: splitObjectKey(item.key).key, record: decodeObjectRecord(item.value) });
    return out;
  }

  /** Shards each appliance holds that no live record names there (should be none). */
  async function unreferencedShards(
    nodes: string[],
  ): Promise<{ held: Map<string, number>; stray: string[] }> {
    const named = new Set<string>();
    for (const { record } of await records())
      record.chunks.forEach((chunk, i) => {
        const at = shardLocation(record, i);
        chunk.nodes.forEach((node, j) => named.add(`${node}/${at.versionId}/${at.chunkIndex}/${j}`));
      });
    const peers = peersFromConfig(cluster.config);
    const held = new Map<string, number>();
    const stray: string[] = [];
    for (const node of nodes) {
      let after: Parameters<typeof cluster.shards.list>[1] = {};
      let count = 0;
      for (let page = 0; page < 1000; page++) {
        const got = await cluster.shards.list(peers.get(node)!, { ...after, limit: 1000 });
        for (const e of got.entries) {
          count++;
          const id = `${node}/${Buffer.from(e.key.versionId).toString('hex')}/${e.key.chunkIndex}/${e.key.shardIndex}`;
          if (!named.has(id)) stray.push(id);
        }
        if (got.nextAfter === undefined) break;
        after = { after: got.nextAfter };
      }
      held.set(node, count);
    }
    return { held, stray };
  }

  function jobContext(params: RebalanceJobContext['job']['params']): {
    ctx: RebalanceJobContext;
    progress: ProgressPatch[];
  } {
    const progress: ProgressPatch[] = [];
    return {
      progress,
      ctx: {
        job: {
          id: randomBytes(16).toString('hex'),
          // Old shards outlive each switch by 1.5 s (GETs in flight), then the garbage workers delete them.
          params: { settleMs: 400, concurrency: 2, readGraceMs: 1500, ...params },
        },
        signal: new AbortController().signal,
        progress: (p) => void progress.push(p),
        db: cluster.db,
        shards: cluster.shards,
        config: cluster.config,
        log: (line) => console.log(`${new Date().toISOString()} ${line}`),
      },
    };
  }

  async function checkAll(): Promise<void> {
    for (const [key, sum] of objects) assert.equal(await readMd5(key), sum, `${key} reads back intact`);
  }

  before(async () => {
    cluster = await startRebalanceCluster(7, 7, { data: 3, parity: 2 });
    // The ring starts with appliances 1-5; 6 and 7 are configured and running (started up front to keep
    // the test short) but not in the ring until the rebalance job adds them.
    await ensureRing(cluster.db, { ...cluster.config, nodes: cluster.config.nodes.slice(0, 5) });
    backend = await createDistributedBackend(cluster.config, {
      segmentSize: 4096,
      maxChunkSize: 32 * 1024,
      ringRefreshMs: 100,
      readTimeoutMs: 3000,
      writeTimeoutMs: 10_000,
    });
    await backend.createBucket(BUCKET, 'owner', cluster.config.region);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        put(`obj-${String(i).padStart(2, '0')}`, randomBytes((i * 7919) % 100_000)),
      ),
    );
    readerLoop = (async () => {
      for (let i = 0; reading && i < 1_000_000; i++) {
        const keys = [...objects.keys()];
        const key = keys[i % keys.length]!;
        try {
          const sum = await readMd5(key);
          if (sum === objects.get(key)) reads.ok++;
          else reads.errors.push(`${key}: wrong content`);
        } catch (error) {
          reads.errors.push(`${key}: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });

  after(async () => {
    reading = false;
    await readerLoop;
    await backend?.close();
    await cluster?.stop();
  });

  it('objects written before the change sit on appliances 1-5 with RS(3,2)', async () => {
    const all = await records();
    assert.equal(all.length, 10);
    for (const { record } of all)
      for (const chunk of record.chunks) {
        assert.deepEqual([chunk.k, chunk.m, chunk.epoch], [3, 2, 0]);
        assert.ok(chunk.nodes.every((n) => ['1', '2', '3', '4', '5'].includes(n)));
      }
  });

  it('rebalance adds appliances 6 and 7 (epoch 1) and moves chunks onto them; reads never fail', async () => {
    const { ctx, progress } = jobContext({});
    const job = rebalanceExecutor(ctx);
    // Writes during the job: some still use the old ring (gateways refresh every 200 ms).
    for (let i = 0; i < 2; i++) await put(`during-${i}`, randomBytes(40_000 + i * 9000));
    const result = await job;
    assert.equal(result['epoch'], 1);
    assert.equal(result['active'], '1,2,3,4,5,6,7');
    assert.ok(Number(result['chunks']) > 0, 'chunks moved');
    const last = progress[progress.length - 1]!;
    assert.equal(last.done, last.total);
    assert.ok((last.bytes ?? 0) > 0);
    const ring = placementRing((await loadRing(cluster.db))!.record);
    for (const { key, record } of await records())
      assert.deepEqual(
        planObjectMoves(BUCKET, key, record, ring).chunks,
        [],
        `${key} is placed as epoch 1 says`,
      );
    await garbageDrained(cluster.db);
    const { held, stray } = await unreferencedShards(ALL);
    assert.deepEqual(stray, [], 'every old shard was deleted');
    assert.ok(
      (held.get('6') ?? 0) > 0 && (held.get('7') ?? 0) > 0,
      `new appliances hold shards: ${[...held]}`,
    );
    assert.equal((await cluster.db.scan(MOVES_TABLE)).items.length, 0);
  });

  it('migrate-rs re-encodes every object RS(3,2) → RS(4,2); both read throughout; new objects get RS(4,2)', async () => {
    const { ctx } = jobContext({ k: 4, m: 2, maxChunkSize: 32 * 1024 });
    // Every object with chunks (an empty or inline-stored one has none).
    const withChunks = (await records()).filter((r) => r.record.chunks.length > 0).length;
    const result = await migrateRsExecutor(ctx);
    assert.equal(result['objects'], withChunks, JSON.stringify(result));
    for (const { key, record } of await records())
      for (const chunk of record.chunks) assert.deepEqual([chunk.k, chunk.m], [4, 2], `${key} is RS(4,2)`);
    await new Promise((r) => setTimeout(r, 300)); // the gateway's ring refresh
    await put('after-migration', randomBytes(70_000));
    const fresh = decodeObjectRecord(
      (await cluster.db.get(TABLES.objects, objectKey(BUCKET, 'after-migration')))!.value,
    );
    assert.ok(fresh.chunks.every((c) => c.k === 4 && c.m === 2 && c.data === undefined));
    await garbageDrained(cluster.db);
    const { stray } = await unreferencedShards(ALL);
    assert.deepEqual(stray, [], 'the RS(3,2) shards were deleted');
  });

  it('a drain job of appliance 2 (run by an appliance job runner) empties it and removes it from the ring; stopping it then loses nothing', async () => {
    // Through pd.jobs: an appliance's runner claims the job and runs the registered drain executor.
    const created = await createJob(cluster.db, 'drain', {
      node: '2',
      settleMs: 400,
      concurrency: 2,
      readGraceMs: 1500,
    });
    let job = created;
    for (let i = 0; i < 2000 && !['done', 'failed', 'stopped'].includes(job.state); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await getJob(cluster.db, created.id)) ?? job;
    }
    assert.equal(job.state, 'done', job.error);
    assert.equal(job.result?.['state'], 'removed');
    assert.equal(job.progress.done, job.progress.total);
    assert.equal(job.progress.unit, 'chunks');
    const ring = (await loadRing(cluster.db))!.record;
    assert.equal(ring.nodes.find((n) => n.id === '2')?.state, 'removed');
    assert.equal(ring.epoch, 2);
    for (const { record } of await records())
      for (const chunk of record.chunks) assert.ok(!chunk.nodes.includes('2'));
    await garbageDrained(cluster.db);
    const { held, stray } = await unreferencedShards(ALL);
    assert.equal(held.get('2'), 0, 'appliance 2 holds no shard');
    assert.deepEqual(stray, []);
    await put('after-drain', randomBytes(50_000));
    await checkAll();
    reading = false;
    await readerLoop;
    assert.deepEqual(reads.errors, []);
    assert.ok(reads.ok > 20, `${reads.ok} reads during the jobs`);
    // The drained appliance can now go away: stopped for good, nothing is lost.
    await cluster.appliances[1]!.kill();
    await checkAll();
  });
});
