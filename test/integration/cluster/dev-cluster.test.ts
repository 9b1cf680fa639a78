// `s3d` dev mode with real processes: every s3db node and every appliance runs as its own child
// process (visible with its role in /proc), each serves its protocol, SIGTERM stops all of them with
// exit 0, and a child killed with kill -9 is reported and stops the cluster with exit 1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { loadTlsIdentity } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import { S3dRun, childrenOf, freePortBlock, roleOf, waitGone } from './harness.ts';
import type { ProcessInfo } from './harness.ts';

const DB_IDS = [1, 2, 3];
const NODE_IDS = [1, 2, 3, 4, 5];
const DB_KEY = { accessKeyId: 'DEVTESTDB', secretAccessKey: 'dev-cluster-test-db-secret' };
const S3_KEY = { accessKeyId: 'DEVTESTKEY', secretAccessKey: 'dev-cluster-test-secret' };
const READY = /^s3d: ready: /;

describe('s3d dev cluster (3 s3db + 5 appliances, RS(3,2))', () => {
  let dir = '';
  let configPath = '';
  let dbPorts: number[] = [];
  let nodePorts: number[] = [];
  const runs: S3dRun[] = [];
  // Shard written in the first run, read back after the restart.
  const kept = { versionId: randomBytes(16), chunkIndex: 0, shardIndex: 0 };
  const keptSegments = [randomBytes(65536), randomBytes(1000)];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3d-dev-'));
    const ports = await freePortBlock(1, 11);
    dbPorts = ports.slice(0, 3);
    const raftPorts = ports.slice(3, 6);
    nodePorts = ports.slice(6, 11);
    const lines = [`base_path = ${JSON.stringify(join(dir, 'data'))}`, '[rs]', 'data = 3', 'parity = 2'];
    lines.push('[store]', 'volume_size_mb = 8');
    DB_IDS.forEach((id, i) =>
      lines.push(
        '[[db]]',
        `id = ${id}`,
        'host = "127.0.0.1"',
        `port = ${dbPorts[i]}`,
        `raft_port = ${raftPorts[i]}`,
        `access_key_id = "${DB_KEY.accessKeyId}"`,
        `secret_access_key = "${DB_KEY.secretAccessKey}"`,
      ),
    );
    NODE_IDS.forEach((id, i) =>
      lines.push('[[nodes]]', `id = ${id}`, 'host = "127.0.0.1"', `port = ${nodePorts[i]}`),
    );
    lines.push(
      '[[auth]]',
      'access_key_id = "DEVTESTKEY"',
      'secret_access_key = "dev-cluster-test-secret"',
      'policy = [{ bucket = "*", actions = ["s3:*"] }]',
    );
    configPath = join(dir, 'cluster.toml');
    await writeFile(configPath, lines.join('\n') + '\n');
  });

  after(async () => {
    for (const run of runs) {
      run.kill('SIGKILL');
      await run.exited;
    }
    await waitGone([...childPids], 15_000);
    await rm(dir, { recursive: true, force: true });
  });

  const childPids = new Set<number>();

  async function startCluster(extra: string[]): Promise<{ run: S3dRun; children: ProcessInfo[] }> {
    // A run a failed test left behind holds the data directories: end it (its children follow).
    for (const old of runs) {
      old.kill('SIGKILL');
      await old.exited;
    }
    await waitGone([...childPids], 15_000);
    const run = new S3dRun(['-config', configPath, '-port', '0', ...extra], dir);
    runs.push(run);
    await run.waitForLine(READY, 150_000);
    // Only the s3d children: tsx's esbuild service is a child process too.
    const children = (await childrenOf(run.pid)).filter((c) => c.args.some((a) => a.endsWith('bin/s3d.mjs')));
    for (const child of children) childPids.add(child.pid);
    return { run, children };
  }

  it('runs each part as a child with its role on the command line; each serves; SIGTERM stops all, exit 0', async () => {
    const { run, children } = await startCluster([]);
    const roles = children.map((c) => roleOf(c.args)).sort();
    assert.deepEqual(
      roles,
      [...NODE_IDS.map((id) => `node ${id}`), ...DB_IDS.map((id) => `s3db ${id}`)].sort(),
      run.output,
    );

    // Every appliance answers the shard protocol over mutual TLS with the cluster certificates.
    const tls = await loadTlsIdentity(join(dir, 'data', 'tls'), 'gateway');
    const shards = new ShardClient({
      transport: await createTransport('tls'),
      tls,
      defaultTimeoutMs: 20_000,
    });
    try {
      for (const [i, port] of nodePorts.entries()) {
        const peer = { host: '127.0.0.1', port };
        const key = i === 0 ? kept : { versionId: randomBytes(16), chunkIndex: 0, shardIndex: i };
        const segments = i === 0 ? keptSegments : [randomBytes(4096)];
        await shards.putShard(peer, key, { rsData: 3, rsParity: 2 }, segments);
        const fetched = await shards.fetchShard(peer, key);
        assert.deepEqual(
          fetched.segments,
          segments.map((s) => Buffer.from(s)),
        );
        const stats = await shards.stat(peer);
        assert.equal(stats.shardCount, 1, `node at port ${port}`);
      }
    } finally {
      await shards.close();
    }

    // s3db takes a write and reads it back, through any member.
    const db = new S3dbClient({
      nodes: dbPorts.map((p) => `127.0.0.1:${p}`),
      credentials: DB_KEY,
      caPem: tls.caPem,
      retryForMs: 20_000,
    });
    try {
      await db.put('cluster-test', 'greeting', Buffer.from('hello'));
      const got = await db.get('cluster-test', 'greeting');
      assert.equal(Buffer.from(got?.value ?? []).toString(), 'hello');
    } finally {
      db.close();
    }

    // And S3 works end to end through the gateway: erasure-coded over the five appliances.
    const [, url] = run.output.match(/^s3d: ready: S3 endpoint (http:\/\/127\.0\.0\.1:\d+)$/m) ?? [];
    assert.ok(url, run.output);
    const s3 = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      credentials: S3_KEY,
      forcePathStyle: true,
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'dev-test' }));
      const body = randomBytes(200_000);
      await s3.send(new PutObjectCommand({ Bucket: 'dev-test', Key: 'blob', Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'dev-test', Key: 'blob' }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    } finally {
      s3.destroy();
    }

    run.kill('SIGTERM');
    assert.deepEqual(await run.exited, { code: 0, signal: null }, run.output);
    assert.deepEqual(
      await waitGone(
        children.map((c) => c.pid),
        5000,
      ),
      [],
      'children still running',
    );
    assert.match(run.output, /^s3d: stopped \(8 child process\(es\) gone\)$/m);
  });

  it('reports a child killed with kill -9 (role, signal) and stops everything with exit 1', async () => {
    const { run, children } = await startCluster(['-no-gateway']);
    assert.equal(children.length, 8, run.output);
    assert.match(
      run.output,
      /^s3d: ready: 3 s3db node\(s\) and 5 appliance\(s\); no gateway \(-no-gateway\)$/m,
    );

    // The restart kept what was acknowledged before it.
    const tls = await loadTlsIdentity(join(dir, 'data', 'tls'), 'gateway');
    const shards = new ShardClient({
      transport: await createTransport('tls'),
      tls,
      defaultTimeoutMs: 20_000,
    });
    try {
      const fetched = await shards.fetchShard({ host: '127.0.0.1', port: nodePorts[0]! }, kept);
      assert.deepEqual(fetched.segments, keptSegments);
    } finally {
      await shards.close();
    }

    const victim = children.find((c) => roleOf(c.args) === 'node 3');
    assert.ok(victim, run.output);
    process.kill(victim.pid, 'SIGKILL');
    const exit = await run.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, run.output);
    assert.match(
      run.output,
      new RegExp(
        `^s3d: node 3 \\(pid ${victim.pid}\\) was killed by SIGKILL unexpectedly; stopping everything$`,
        'm',
      ),
    );
    assert.deepEqual(
      await waitGone(
        children.map((c) => c.pid),
        5000,
      ),
      [],
      'children still running',
    );
  });
});
