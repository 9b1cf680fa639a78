// Self-healing with real processes: 1 s3db node + 5 appliances (RS(3,2)) whose maintenance runs on
// short intervals; a gateway backend in this process writes and reads. An appliance down during
// PUTs → its repair tasks drain once it is back; an appliance's data wiped → a `repair` job rebuilds
// it; a flipped byte → a `scrub` job queues a repair → healthy; an overwrite's garbage is deleted by
// the appliances (the gateway runs no garbage worker).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createDistributedBackend,
  gatewayTlsIdentity,
  peersOf,
} from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { createJob, getJob, isFinal } from '../../../shared/jobs/index.ts';
import type { JobKind, JobParams, JobRecord } from '../../../shared/jobs/index.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord, shardLocation } from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import type { ShardPeer } from '../../../shared/shard-client/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import { startHealCluster } from './cluster.ts';
import type { HealCluster } from './cluster.ts';

const BUCKET = 'heal';
// Small geometry so objects span several chunks: 4 KiB segments, RS(3,2) → 12 KiB stripes, 60 KiB chunks.
const SEGMENT = 4096;
const MAX_CHUNK = 5 * 3 * SEGMENT;
const SIZES = [1, 5000, 70_000, 150_000];

describe('maintenance: healing, scrub, sweep and garbage on real appliances', { timeout: 180_000 }, () => {
  let cluster: HealCluster;
  let backend: DistributedBackend;
  let db: S3dbClient;
  let shards: ShardClient;
  let peers: Map<string, ShardPeer>;
  const contents = new Map<string, Buffer>();

  before(async () => {
    cluster = await startHealCluster([
      'job_poll_seconds = 0.2',
      'job_lease_seconds = 3',
      'repair_poll_seconds = 0.2',
      'repair_retry_base_seconds = 0.2',
      'repair_retry_max_seconds = 1',
      'gc_poll_seconds = 0.2',
      'compact_interval_seconds = 0',
      'scrub_interval_seconds = 0',
      'orphan_sweep_interval_seconds = 0',
    ]);
    backend = await createDistributedBackend(cluster.config, {
      segmentSize: SEGMENT,
      maxChunkSize: MAX_CHUNK,
      readTimeoutMs: 2000,
      writeTimeoutMs: 5000,
    });
    await backend.createBucket(BUCKET, 'owner', cluster.config.region);
    const tls = await gatewayTlsIdentity(cluster.config);
    const first = cluster.config.db[0]!;
    db = new S3dbClient({
      nodes: [`127.0.0.1:${first.port}`],
      credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
      caPem: tls.caPem,
    });
    shards = new ShardClient({ transport: await createTransport('tls'), tls, defaultTimeoutMs: 5000 });
    peers = peersOf(cluster.config);
  });

  after(async () => {
    await shards?.close();
    db?.close();
    await backend?.close();
    await cluster?.stop();
  });

  async function put(key: string, body: Buffer): Promise<void> {
    await backend.putObject({
      bucket: BUCKET,
      key,
      body: (async function* () {
        yield body;
      })(),
      metadata: { contentType: 'application/octet-stream', userMetadata: {} },
    });
    contents.set(key, body);
  }

  async function record(key: string): Promise<ObjectRecord> {
    const got = await db.get(TABLES.objects, objectKey(BUCKET, key));
    assert.ok(got, `no record for ${key}`);
    return decodeObjectRecord(got.value);
  }

  async function readBack(key: string): Promise<Buffer> {
    const got = await backend.getObject(BUCKET, key);
    const parts: Buffer[] = [];
    for await (const piece of got.body) parts.push(piece);
    return Buffer.concat(parts);
  }

  /** Each shard of every object written so far, as STAT (and a full CRC-checked read) finds it. */
  async function missingShards(): Promise<string[]> {
    const missing: string[] = [];
    for (const key of contents.keys()) {
      const r = await record(key);
      for (let c = 0; c < r.chunks.length; c++) {
        const chunk = r.chunks[c]!;
        const at = shardLocation(r, c);
        for (let j = 0; j < chunk.nodes.length; j++) {
          const shardKey = {
            versionId: Buffer.from(at.versionId, 'hex'),
            chunkIndex: at.chunkIndex,
            shardIndex: j,
          };
          try {
            await shards.fetchShard(peers.get(chunk.nodes[j]!)!, shardKey);
          } catch (error) {
            missing.push(`${key}#${c}.${j}@${chunk.nodes[j]}: ${(error as { code?: string }).code}`);
          }
        }
      }
    }
    return missing;
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function runJob(kind: JobKind, params: JobParams = {}): Promise<JobRecord> {
    const job = await createJob(db, kind, params);
    return until(`${kind} job`, async () => {
      const now = await getJob(db, job.id);
      return now && isFinal(now.state) ? now : undefined;
    });
  }

  const digest = (b: Buffer): string => createHash('md5').update(b).digest('hex');

  it('an appliance down during PUTs and then wiped: its repair tasks drain once it is back; a repair job rebuilds the rest', async () => {
    for (const [i, size] of SIZES.entries()) await put(`before/${i}`, randomBytes(size));
    assert.deepEqual(await missingShards(), []);
    const down = cluster.appliances[0]!;
    const node = cluster.config.nodes[0]!;
    await down.kill();
    const written: string[] = [];
    for (const [i, size] of SIZES.entries()) {
      await put(`while-down/${i}`, randomBytes(size));
      written.push(`while-down/${i}`);
    }
    const queued = await backend.repairTasks();
    assert.ok(queued.length > 0, 'PUTs with an appliance down leave repair tasks');
    assert.ok(queued.every((t) => t.reason === 'write-failed' && t.key.startsWith('while-down/')));
    // Its disk is replaced while it is down: everything it held is gone.
    await rm(node.path, { recursive: true, force: true });
    await down.start();
    await until('the repair queue to drain', async () =>
      (await backend.repairTasks()).length === 0 ? true : undefined,
    );
    const missing = await missingShards();
    assert.ok(
      missing.every((m) => m.startsWith('before/') && m.endsWith(`@${node.id}: NOT_FOUND`)),
      `only the older objects' shards on the wiped appliance are missing:\n${missing.join('\n')}`,
    );
    assert.ok(missing.length > 0, 'the wiped appliance held shards of the older objects');
    for (const key of written) assert.equal(digest(await readBack(key)), digest(contents.get(key)!));
    const job = await runJob('repair');
    assert.equal(job.state, 'done', job.error);
    assert.equal(job.progress.done, contents.size);
    assert.equal(job.progress.total, contents.size);
    assert.equal(job.result?.['shardsRebuilt'], missing.length);
    assert.deepEqual(await missingShards(), []);
    for (const key of contents.keys()) assert.equal(digest(await readBack(key)), digest(contents.get(key)!));
  });

  it('a flipped byte: a scrub job finds it, the healer rebuilds the shard', async () => {
    const key = 'while-down/3';
    const r = await record(key);
    const chunk = r.chunks[0]!;
    const nodeId = Number(chunk.nodes[0]);
    const node = cluster.config.nodes.find((n) => n.id === nodeId)!;
    // Shard 0 of chunk 0 holds the object's first bytes verbatim (no compression).
    const needle = contents.get(key)!.subarray(0, 64);
    const dir = join(node.path, 'volumes');
    let flipped = false;
    for (const name of await readdir(dir)) {
      const file = join(dir, name);
      const bytes = await readFile(file);
      const at = bytes.indexOf(needle);
      if (at < 0) continue;
      bytes[at + 10] = bytes[at + 10]! ^ 0xff;
      await writeFile(file, bytes);
      flipped = true;
    }
    assert.ok(flipped, 'found the shard in a volume file');
    assert.ok((await missingShards()).some((m) => m.startsWith(`${key}#0.0@`) && m.endsWith('CORRUPT')));
    const job = await runJob('scrub', { node: nodeId });
    assert.equal(job.state, 'done', job.error);
    assert.equal(job.result?.['corruptShards'], 1);
    assert.equal(job.result?.['repairsQueued'], 1);
    await until('the repair queue to drain', async () =>
      (await backend.repairTasks()).length === 0 ? true : undefined,
    );
    assert.deepEqual(await missingShards(), []);
    assert.equal(digest(await readBack(key)), digest(contents.get(key)!));
  });

  it('an overwrite: the appliances delete the old version’s shards', async () => {
    const key = 'while-down/2';
    const old = await record(key);
    await put(key, randomBytes(20_000));
    await until('the garbage table to empty', async () =>
      (await backend.garbageRecords()).length === 0 ? true : undefined,
    );
    for (let c = 0; c < old.chunks.length; c++) {
      const at = shardLocation(old, c);
      for (const [j, nodeId] of old.chunks[c]!.nodes.entries())
        await assert.rejects(
          shards.shardStat(peers.get(nodeId)!, {
            versionId: Buffer.from(at.versionId, 'hex'),
            chunkIndex: at.chunkIndex,
            shardIndex: j,
          }),
          { code: 'NOT_FOUND' },
        );
    }
    assert.deepEqual(await missingShards(), []);
  });
});
