// Issue #9's scale scenario on real processes: 1 s3db node and 5 appliances holding N objects under
// RS(3,2) (mostly small, every one stored as shards, some spanning several chunks); appliances 6 and 7
// are started and a `rebalance` job (run by an appliance's job runner through pd.jobs) adds them and
// moves chunks, while reader loops GET random objects and must see no error. Afterwards every chunk is
// placed as the new ring says, no appliance holds a shard no record names, and every object is
// bit-exact. Optionally a `migrate-rs` job then re-encodes everything to RS(4,2) (7 appliances ≥ 6),
// again under the readers: new writes are RS(4,2), old ones read throughout.
// Used by `npm run test:scale` (test/soak/rebalance-scale.ts, 5 000 objects); the small shape of the
// same steps runs in npm test (rebalance.test.ts).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { ensureRing, loadRing, placementRing } from '../../../shared/cluster/index.ts';
import { createJob, getJob } from '../../../shared/jobs/index.ts';
import type { JobRecord } from '../../../shared/jobs/index.ts';
import { TABLES } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, shardLocation } from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import type { ShardClient } from '../../../shared/shard-client/index.ts';
import { peersFromConfig } from '../../../appliance/maintenance/rebalance/context.ts';
import { MOVES_TABLE } from '../../../appliance/maintenance/rebalance/intents.ts';
import { planObjectMoves, splitObjectKey } from '../../../appliance/maintenance/rebalance/plan.ts';
import { prepareCluster, startMembers } from '../../support/s3d-cluster.ts';
import { garbageDrained, openClusterClients, putRetrying } from './cluster.ts';
import type { PreparedCluster } from '../../support/s3d-cluster.ts';

const BUCKET = 'scale';
const SEGMENT = 4096;
const CHUNK = 32 * 1024;

export interface ScaleOptions {
  objects: number;
  /** One object in `largeEvery` spans several chunks (40–160 KiB); the rest are 1–12 KiB. */
  largeEvery?: number;
  /** Re-encode everything RS(3,2) → RS(4,2) after the rebalance. */
  migrate?: boolean;
  /** Objects moved at once by the jobs. */
  concurrency?: number;
  /** Concurrent PUTs while loading, concurrent readers during the jobs. */
  writers?: number;
  readers?: number;
  log?: (line: string) => void;
  /** How long the idle cluster's background CPU is sampled (subtracted from the jobs' CPU). */
  idleSampleMs?: number;
  /** Node flags of the cluster's processes; with them they are stopped by SIGTERM (profiles get written). */
  nodeArgs?: string[];
}

/** CPU seconds spent during a step, per process kind. */
export interface CpuFigures {
  s3db: number;
  appliances: number;
  /** This process: the gateway backend and the readers. */
  client: number;
}

export interface JobFigures {
  seconds: number;
  /** CPU seconds of the job, the idle cluster's background CPU subtracted. */
  cpu: CpuFigures;
  /** chunks (rebalance) or objects (migrate-rs) done. */
  units: number;
  bytes: number;
  result: Record<string, number | string>;
}

export interface ScaleReport {
  objects: number;
  objectBytes: number;
  loadSeconds: number;
  rebalance: JobFigures;
  migrate?: JobFigures;
  reads: number;
  verifySeconds: number;
  totalSeconds: number;
}

/** utime + stime of a process in seconds (Linux /proc; 0 when unreadable). */
function processCpu(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function cpuNow(cluster: PreparedCluster): CpuFigures {
  const sum = (ms: PreparedCluster['dbs']): number => ms.reduce((n, m) => n + processCpu(m.child?.pid), 0);
  const own = process.cpuUsage();
  return {
    s3db: sum(cluster.dbs),
    appliances: sum(cluster.appliances),
    client: (own.user + own.system) / 1e6,
  };
}

const cpuSince = (a: CpuFigures, b: CpuFigures): CpuFigures => ({
  s3db: b.s3db - a.s3db,
  appliances: b.appliances - a.appliances,
  client: b.client - a.client,
});

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Deterministic sizes: mostly 1–12 KiB (one chunk of 1 stripe), every `largeEvery`th 40–160 KiB. */
export function objectSize(i: number, largeEvery: number): number {
  const r = (i * 2654435761) % 1_000_003;
  return i % largeEvery === largeEvery - 1 ? 40 * 1024 + (r % (120 * 1024)) : 1024 + (r % (11 * 1024));
}

async function pool<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, width) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export async function runScaleScenario(options: ScaleOptions): Promise<ScaleReport> {
  const log = options.log ?? (() => undefined);
  const largeEvery = options.largeEvery ?? 20;
  const concurrency = options.concurrency ?? 16;
  const started = performance.now();
  const cluster: PreparedCluster = await prepareCluster({
    prefix: 'pd-scale-',
    portsFrom: 19000,
    dbs: 1,
    nodes: 7,
    rs: { data: 3, parity: 2 },
    dbKey: { accessKeyId: 'SCALEDB', secretAccessKey: 'scale-test-db-secret' },
    sections: [
      '[store]',
      'volume_size_mb = 64',
      '[maintenance]',
      'job_poll_seconds = 0.5',
      'gc_poll_seconds = 0.5',
    ],
    auth: [],
    ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
  });
  const { config } = cluster;
  let db: S3dbClient | undefined;
  let shards: ShardClient | undefined;
  let backend: DistributedBackend | undefined;
  let reading = false;
  let readers: Promise<void>[] = [];
  try {
    await startMembers(cluster, [...cluster.dbs, ...cluster.appliances.slice(0, 5)]);
    ({ db, shards } = await openClusterClients(config));
    // The ring starts with appliances 1-5; 6 and 7 are configured but neither running nor placed.
    await ensureRing(db, { ...config, nodes: config.nodes.slice(0, 5) });
    backend = await createDistributedBackend(config, {
      segmentSize: SEGMENT,
      maxChunkSize: CHUNK,
      inlineMaxBytes: 0, // every object has shards, so every object can move
      ringRefreshMs: 500,
      readTimeoutMs: 10_000,
      writeTimeoutMs: 30_000,
    });
    const be = backend;
    await be.createBucket(BUCKET, 'owner', config.region);

    const sums = new Map<string, string>();
    const put = async (key: string, data: Buffer): Promise<void> => {
      await putRetrying(be, BUCKET, key, data);
      sums.set(key, md5(data));
    };
    const readMd5 = async (key: string): Promise<string> => {
      const got = await be.getObject(BUCKET, key);
      const hash = createHash('md5');
      for await (const piece of got.body) hash.update(piece);
      return hash.digest('hex');
    };

    let t = performance.now();
    const keys = Array.from({ length: options.objects }, (_, i) => `obj-${String(i).padStart(6, '0')}`);
    let objectBytes = 0;
    await pool(keys, options.writers ?? 16, async (key) => {
      const data = randomBytes(objectSize(Number(key.slice(4)), largeEvery));
      objectBytes += data.length;
      await put(key, data);
    });
    const loadSeconds = (performance.now() - t) / 1000;
    log(
      `loaded ${keys.length} objects (${(objectBytes / 2 ** 20).toFixed(1)} MiB) in ${loadSeconds.toFixed(1)} s`,
    );

    const records = async (): Promise<{ key: string; record: ObjectRecord }[]> => {
      const out = [];
      for await (const item of db!.scanAll(TABLES.objects, { limit: 1000 }))
        out.push({ key: splitObjectKey(item.key).key, record: decodeObjectRecord(item.value) });
      return out;
    };
    const before = await records();
    assert.equal(before.length, keys.length);
    for (const { key, record } of before) {
      assert.ok(record.chunks.length > 0, `${key} is stored as shards`);
      for (const chunk of record.chunks) {
        assert.deepEqual([chunk.k, chunk.m], [3, 2], `${key} is RS(3,2)`);
        assert.ok(
          chunk.nodes.every((n) => Number(n) <= 5),
          `${key} is on appliances 1-5`,
        );
      }
    }

    let idlePerSecond: CpuFigures = { s3db: 0, appliances: 0, client: 0 };
    const runJob = async (kind: 'rebalance' | 'migrate-rs', params: Record<string, number | string>) => {
      const t0 = performance.now();
      const cpu0 = cpuNow(cluster);
      const each0 = cluster.appliances.map((m) => processCpu(m.child?.pid));
      const outputAt = new Map(cluster.appliances.map((m) => [m, m.output.length]));
      // Old shards outlive each switch by 3 s (GETs in flight), then the garbage workers delete them.
      const created = await createJob(db!, kind, {
        settleMs: 1500,
        concurrency,
        readGraceMs: 3000,
        ...params,
      });
      let job: JobRecord = created;
      let lastLog = 0;
      for (let i = 0; i < 1_000_000 && !['done', 'failed', 'stopped'].includes(job.state); i++) {
        await new Promise((r) => setTimeout(r, 250));
        job = (await getJob(db!, created.id)) ?? job;
        if (performance.now() - lastLog > 10_000) {
          lastLog = performance.now();
          log(
            `${kind}: ${job.state} ${job.progress.done}/${job.progress.total ?? '?'} ${job.progress.unit ?? ''}, ${reads.ok} reads, ${reads.errors.length} read errors`,
          );
        }
      }
      assert.equal(job.state, 'done', `${kind} job: ${job.state} ${job.error ?? ''}`);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSince(cpu0, cpuNow(cluster));
      log(
        `${kind}: CPU s per appliance ${cluster.appliances.map((m, i) => (processCpu(m.child?.pid) - each0[i]!).toFixed(1)).join(' ')}; s3db ${cpu.s3db.toFixed(1)}, client ${cpu.client.toFixed(1)}`,
      );
      const busy: CpuFigures = {
        s3db: cpu.s3db - idlePerSecond.s3db * seconds,
        appliances: cpu.appliances - idlePerSecond.appliances * seconds,
        client: cpu.client - idlePerSecond.client * seconds,
      };
      const result = job.result ?? {};
      // The job's own lines from the appliance that ran it (passes, failures).
      for (const m of cluster.appliances)
        for (const line of m.output.slice(outputAt.get(m) ?? 0).split('\n'))
          if (/pass \d|failed|error/i.test(line)) log(`  ${m.role}: ${line.slice(0, 400)}`);
      return {
        seconds,
        cpu: busy,
        units: Number(result[kind === 'rebalance' ? 'chunks' : 'objects'] ?? 0),
        bytes: Number(result['bytes'] ?? 0),
        result,
      };
    };

    // Add appliances 6 and 7: start them, then the rebalance job puts them in the ring and moves chunks.
    await startMembers(cluster, cluster.appliances.slice(5, 7));
    // Background CPU of the idle cluster (job runner polls, healer, sweeps), per second, measured
    // before the readers start so a job's own cost can be told apart from it.
    const idle0 = cpuNow(cluster);
    const idleT0 = performance.now();
    await new Promise((r) => setTimeout(r, options.idleSampleMs ?? 0));
    const idleSeconds = (performance.now() - idleT0) / 1000;
    const idleCpu = cpuSince(idle0, cpuNow(cluster));
    idlePerSecond = {
      s3db: idleCpu.s3db / idleSeconds,
      appliances: idleCpu.appliances / idleSeconds,
      client: idleCpu.client / idleSeconds,
    };
    log(`idle cluster CPU per second: ${JSON.stringify(idlePerSecond)}`);

    // Readers: random objects, bit-exact, for as long as the jobs run. Any error fails the scenario.
    const reads = { ok: 0, errors: [] as string[] };
    reading = true;
    readers = Array.from({ length: options.readers ?? 2 }, async () => {
      for (let i = 0; reading && i < 10_000_000; i++) {
        const key = keys[Math.floor(Math.random() * keys.length)]!;
        try {
          if ((await readMd5(key)) === sums.get(key)) reads.ok++;
          else reads.errors.push(`${key}: wrong content`);
        } catch (error) {
          reads.errors.push(`${key}: ${(error as Error).message}`);
        }
      }
    });

    t = performance.now();
    const rebalance = await runJob('rebalance', {});
    log(`rebalance: ${JSON.stringify(rebalance.result)} in ${rebalance.seconds.toFixed(1)} s`);
    const ring = (await loadRing(db))!.record;
    assert.equal(ring.epoch, 1);
    const placement = placementRing(ring);
    assert.deepEqual(placement.nodes.map(String).sort(), ['1', '2', '3', '4', '5', '6', '7']);
    const afterRebalance = await records();
    let onNew = 0;
    for (const { key, record } of afterRebalance) {
      assert.deepEqual(planObjectMoves(BUCKET, key, record, placement).chunks, [], `${key} follows epoch 1`);
      for (const chunk of record.chunks) if (chunk.nodes.some((n) => n === '6' || n === '7')) onNew++;
    }
    assert.ok(rebalance.units > 0 && onNew > 0, 'chunks moved onto appliances 6 and 7');
    assert.equal((await db.scan(MOVES_TABLE)).items.length, 0, 'no move intent left');
    await garbageDrained(db);

    let migrate: JobFigures | undefined;
    if (options.migrate === true) {
      migrate = await runJob('migrate-rs', { k: 4, m: 2, maxChunkSize: CHUNK });
      log(`migrate-rs: ${JSON.stringify(migrate.result)} in ${migrate.seconds.toFixed(1)} s`);
      assert.equal(migrate.units, keys.length, 'every object was re-encoded');
      for (const { key, record } of await records())
        for (const chunk of record.chunks) assert.deepEqual([chunk.k, chunk.m], [4, 2], `${key} is RS(4,2)`);
      await new Promise((r) => setTimeout(r, 600)); // the gateway's ring refresh
      await put('after-migration', randomBytes(70_000));
      const fresh = (await records()).find((r) => r.key === 'after-migration')!.record;
      assert.ok(fresh.chunks.every((c) => c.k === 4 && c.m === 2 && c.data === undefined));
      keys.push('after-migration');
    }
    reading = false;
    await Promise.all(readers);
    assert.deepEqual(reads.errors.slice(0, 20), [], `${reads.errors.length} reads failed during the jobs`);
    log(`${reads.ok} reads during the jobs, none failed`);

    // No appliance holds a shard no record names (old shards deleted), and every object is intact.
    t = performance.now();
    await garbageDrained(db);
    const named = new Set<string>();
    for (const { record } of await records())
      record.chunks.forEach((chunk, i) => {
        const at = shardLocation(record, i);
        chunk.nodes.forEach((node, j) => named.add(`${node}/${at.versionId}/${at.chunkIndex}/${j}`));
      });
    const peers = peersFromConfig(config);
    let held = 0;
    const stray: string[] = [];
    for (const node of ['1', '2', '3', '4', '5', '6', '7']) {
      let after: Parameters<ShardClient['list']>[1] = {};
      for (let page = 0; page < 100_000; page++) {
        const got = await shards.list(peers.get(node)!, { ...after, limit: 1000 });
        for (const e of got.entries) {
          held++;
          const id = `${node}/${Buffer.from(e.key.versionId).toString('hex')}/${e.key.chunkIndex}/${e.key.shardIndex}`;
          if (!named.has(id)) stray.push(id);
        }
        if (got.nextAfter === undefined) break;
        after = { after: got.nextAfter };
      }
    }
    assert.deepEqual(stray.slice(0, 20), [], `${stray.length} shards no record names`);
    assert.equal(held, named.size, 'every named shard is held');
    const bad: string[] = [];
    await pool(keys, 8, async (key) => {
      const got = await readMd5(key);
      if (got !== sums.get(key)) bad.push(key);
    });
    assert.deepEqual(bad, [], 'every object reads back bit-exact');
    const verifySeconds = (performance.now() - t) / 1000;
    log(`verified ${keys.length} objects and ${held} shards in ${verifySeconds.toFixed(1)} s`);
    return {
      objects: options.objects,
      objectBytes,
      loadSeconds,
      rebalance,
      ...(migrate === undefined ? {} : { migrate }),
      reads: reads.ok,
      verifySeconds,
      totalSeconds: (performance.now() - started) / 1000,
    };
  } finally {
    reading = false;
    await Promise.allSettled(readers);
    await backend?.close();
    await shards?.close();
    db?.close();
    if (options.nodeArgs !== undefined)
      // SIGTERM first, so children run with --cpu-prof write their profiles.
      await Promise.all(
        [...cluster.dbs, ...cluster.appliances].map(async (m) => {
          const child = m.child;
          if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
        }),
      );
    await cluster.stop();
  }
}
