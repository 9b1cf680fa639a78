// The distributed backend end to end: 3 s3db nodes and 5 appliances as real processes (RS(3,2)),
// a gateway in this process, the pinned AWS SDK as the client.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import http from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createDistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import type { DistributedBackend } from '../../../gateway/backend/distributed/index.ts';
import { peersOf, gatewayTlsIdentity } from '../../../gateway/backend/distributed/index.ts';
import { startGatewayServer } from '../../../gateway/server.ts';
import type { GatewayServer } from '../../../gateway/server.ts';
import { signRequest } from '../../../shared/sigv4/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import { ACCOUNT, ROOT, md5Of, seededBytes, seededStream, startCluster } from './cluster.ts';
import type { TestCluster } from './cluster.ts';

const MiB = 1024 * 1024;
const BUCKET = 'dist-test';
// 64 KiB segments, RS(3,2): a stripe holds 192 KiB; a chunk 170 stripes.
const STRIPE = 3 * 65536;
const CHUNK = 170 * STRIPE;

describe('distributed backend (3 s3db + 5 appliances, RS(3,2))', { timeout: 600_000 }, () => {
  let cluster: TestCluster;
  let backend: DistributedBackend;
  let gateway: GatewayServer;
  let s3: S3Client;
  let shards: ShardClient;

  before(async () => {
    cluster = await startCluster(1);
    backend = await createDistributedBackend(cluster.config, { readTimeoutMs: 3000, writeTimeoutMs: 10_000 });
    gateway = await startGatewayServer({
      backend,
      credentials: cluster.config.auth,
      port: 0,
      host: '127.0.0.1',
      region: cluster.config.region,
      logger: false,
    });
    s3 = new S3Client({
      endpoint: gateway.url,
      region: cluster.config.region,
      forcePathStyle: true,
      credentials: ACCOUNT,
      maxAttempts: 1,
    });
    shards = new ShardClient({
      transport: await createTransport('tls'),
      tls: await gatewayTlsIdentity(cluster.config),
    });
  });

  after(async () => {
    s3?.destroy();
    await shards?.close();
    await gateway?.close();
    await cluster?.stop();
  });

  async function put(key: string, seed: number, size: number): Promise<string | undefined> {
    const out = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: Readable.from(seededStream(seed, size)),
        ContentLength: size,
      }),
    );
    return out.ETag;
  }

  async function getMd5(key: string, range?: string): Promise<{ md5: string; size: number }> {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: key, ...(range ? { Range: range } : {}) }),
    );
    return md5Of(out.Body as Readable);
  }

  async function getBytes(key: string, range: string): Promise<Buffer> {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    return Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  }

  const expectedMd5 = async (seed: number, size: number): Promise<string> =>
    (await md5Of(seededStream(seed, size))).md5;

  async function liveShardCount(): Promise<number> {
    let total = 0;
    for (const peer of peersOf(cluster.config).values()) total += (await shards.stat(peer)).shardCount;
    return total;
  }

  it('creates, heads, lists buckets; ownership errors', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await assert.rejects(s3.send(new CreateBucketCommand({ Bucket: BUCKET })), {
      name: 'BucketAlreadyOwnedByYou',
    });
    await s3.send(new HeadBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: 'dist-empty' }));
    assert.deepEqual(
      (await backend.listBuckets('000000000000')).map((b) => b.name),
      ['dist-empty', BUCKET],
    );
    await assert.rejects(backend.createBucket(BUCKET, '111111111111', ''), { code: 'BucketAlreadyExists' });
    await s3.send(new DeleteBucketCommand({ Bucket: 'dist-empty' }));
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'dist-empty' })), { name: 'NotFound' });
  });

  const sizes = [
    0,
    1,
    65535,
    65536,
    65537,
    STRIPE + 1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
    32 * MiB - 1,
    32 * MiB + 1,
    100 * MiB,
  ];

  it('round-trips objects of 0 B .. 100 MiB bit-exactly (ETag = MD5)', async () => {
    for (const [i, size] of sizes.entries()) {
      const md5 = await expectedMd5(100 + i, size);
      assert.equal(await put(`obj/${size}`, 100 + i, size), `"${md5}"`, `size ${size}`);
      assert.deepEqual(await getMd5(`obj/${size}`), { md5, size }, `size ${size}`);
    }
    await assert.rejects(s3.send(new DeleteBucketCommand({ Bucket: BUCKET })), { name: 'BucketNotEmpty' });
  });

  it('serves ranges across stripe and chunk boundaries', async () => {
    const size = 32 * MiB + 1;
    const seed = 100 + sizes.indexOf(size);
    const ranges: [number, number][] = [
      [0, 0],
      [STRIPE - 10, STRIPE + 10],
      [65530, 65540],
      [CHUNK - 100, CHUNK + 100],
      [CHUNK - STRIPE - 5, CHUNK + 1000],
      [size - 1, size - 1],
      [1000, 5 * STRIPE + 17],
    ];
    for (const [start, end] of ranges) {
      const got = await getBytes(`obj/${size}`, `bytes=${start}-${end}`);
      assert.ok(got.equals(seededBytes(seed, start, end - start + 1)), `range ${start}-${end}`);
    }
    const tail = await getBytes(`obj/${size}`, 'bytes=-70000');
    assert.ok(tail.equals(seededBytes(seed, size - 70000, 70000)));
  });

  it('lists with prefix, delimiter and continuation', async () => {
    for (const key of ['l/a/1', 'l/a/2', 'l/b', 'l/c/x/y', 'l/d']) await put(key, 1, 3);
    const top = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'l/', Delimiter: '/' }));
    assert.deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['l/a/', 'l/c/'],
    );
    assert.deepEqual(
      top.Contents?.map((c) => c.Key),
      ['l/b', 'l/d'],
    );
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await s3.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          Prefix: 'l/',
          MaxKeys: 2,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      seen.push(...(out.Contents ?? []).map((c) => c.Key as string));
      if (!out.IsTruncated) break;
      token = out.NextContinuationToken;
    }
    assert.deepEqual(seen, ['l/a/1', 'l/a/2', 'l/b', 'l/c/x/y', 'l/d']);
    const first = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'obj/', MaxKeys: 1 })))
      .Contents?.[0];
    assert.equal(first?.Key, 'obj/0');
    assert.equal(first?.Size, 0);
  });

  it('overwrite and delete: the garbage worker removes old shards (shard counts back to the live figure)', async () => {
    const worker = backend.startGarbageWorker({ idleMs: 50 });
    try {
      const drain = async (): Promise<void> => {
        for (let i = 0; i < 200 && (await backend.garbageRecords()).length > 0; i++) await worker.runOnce();
        assert.deepEqual(await backend.garbageRecords(), []);
      };
      await drain();
      const before = await liveShardCount();
      await put('gc/x', 7, 3 * MiB);
      assert.equal(await liveShardCount(), before + 5);
      await put('gc/x', 8, 1 * MiB + 3);
      await drain();
      assert.equal(await liveShardCount(), before + 5);
      assert.deepEqual(await getMd5('gc/x'), { md5: await expectedMd5(8, MiB + 3), size: MiB + 3 });
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gc/x' }));
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gc/never-existed' }));
      await drain();
      assert.equal(await liveShardCount(), before);
      await assert.rejects(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'gc/x' })), {
        name: 'NoSuchKey',
      });
    } finally {
      await worker.stop();
    }
  });

  it('kill -9 of the gateway mid-PUT: the old version stays readable, nothing partial is visible', async () => {
    await put('crash/obj', 21, 2 * MiB);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/integration/distributed/gateway-child.ts'), cluster.configPath],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const reap = (): void => void child.kill('SIGKILL');
    process.once('exit', reap);
    try {
      const url = await new Promise<string>((done, fail) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /LISTENING (\S+)/.exec(out);
          if (m) done(m[1] as string);
        });
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.once('exit', (code) => fail(new Error(`gateway child exited ${code}: ${out}`)));
      });
      // A signed streaming upload (UNSIGNED-PAYLOAD) we can cut off after the first chunk went out.
      const size = 40 * MiB;
      const target = new URL(`${url}/${BUCKET}/crash/obj`);
      const signed = signRequest({
        method: 'PUT',
        path: target.pathname,
        query: '',
        headers: {
          host: target.host,
          'content-length': String(size),
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
        payloadHash: 'UNSIGNED-PAYLOAD',
        credentials: ACCOUNT,
        region: cluster.config.region,
        service: 's3',
      });
      const request = http.request(target, {
        method: 'PUT',
        headers: { host: target.host, 'content-length': String(size), ...signed.headers },
      });
      request.on('error', () => undefined);
      let sent = 0;
      for await (const piece of seededStream(22, size)) {
        if (!request.write(piece)) await new Promise((r) => request.once('drain', r));
        sent += piece.length;
        if (sent >= 36 * MiB) break;
      }
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      request.destroy();
      assert.deepEqual(await getMd5('crash/obj'), { md5: await expectedMd5(21, 2 * MiB), size: 2 * MiB });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'crash/' }));
      assert.deepEqual(
        listed.Contents?.map((c) => [c.Key, c.Size]),
        [['crash/obj', 2 * MiB]],
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      process.off('exit', reap);
    }
  });

  it('with m appliances killed every GET is correct; with m+1, 503 and nothing corrupted; after restart all reads work', async () => {
    const checked = [0, 1, 65537, STRIPE + 1];
    const expected = new Map<number, string>();
    for (const size of checked) expected.set(size, await expectedMd5(100 + sizes.indexOf(size), size));
    // One appliance down: PUT still succeeds (quorum k+1 = 4) and leaves a repair task.
    const [a, b, c] = [cluster.appliances[0]!, cluster.appliances[2]!, cluster.appliances[4]!];
    await a.kill();
    const md5 = await expectedMd5(31, 5 * MiB);
    assert.equal(await put('degraded/written', 31, 5 * MiB), `"${md5}"`);
    assert.ok(
      (await backend.repairTasks()).some((t) => t.key === 'degraded/written' && t.reason === 'write-failed'),
    );
    await b.kill();
    for (const size of checked)
      assert.deepEqual(
        await getMd5(`obj/${size}`),
        { md5: expected.get(size), size },
        `size ${size}, 2 down`,
      );
    assert.deepEqual(await getMd5('degraded/written'), { md5, size: 5 * MiB });
    const got = await getBytes(`obj/${32 * MiB + 1}`, `bytes=${CHUNK - 7}-${CHUNK + 7}`);
    assert.ok(got.equals(seededBytes(100 + sizes.indexOf(32 * MiB + 1), CHUNK - 7, 15)));
    assert.ok((await backend.repairTasks()).some((t) => t.reason === 'read-failed'));
    // Two down: a PUT cannot reach its quorum (above the inline threshold: a small one is stored in s3db).
    await assert.rejects(put('degraded/refused', 32, 5000), { name: 'ServiceUnavailable' });
    assert.equal(await put('degraded/inline', 33, 1000), `"${await expectedMd5(33, 1000)}"`);
    assert.deepEqual(await getMd5('degraded/inline'), { md5: await expectedMd5(33, 1000), size: 1000 });
    await c.kill();
    await assert.rejects(
      getMd5(`obj/${STRIPE + 1}`),
      (error: { name?: string; $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(error.name, 'ServiceUnavailable');
        assert.equal(error.$metadata?.httpStatusCode, 503);
        return true;
      },
    );
    await Promise.all([a.start(), b.start(), c.start()]);
    for (const size of checked)
      assert.deepEqual(
        await getMd5(`obj/${size}`),
        { md5: expected.get(size), size },
        `size ${size}, restarted`,
      );
    assert.deepEqual(await getMd5('degraded/written'), { md5, size: 5 * MiB });
  });
});
