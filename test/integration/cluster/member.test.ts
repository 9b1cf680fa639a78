// Production-style member process (spec §14 "Host 1: database leader + node 0"): `-node N -db-node M`
// runs appliance N and s3db node M in one process, with no children; `-port` adds the gateway there.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3dRun, childrenOf, freePortBlock } from './harness.ts';

const S3_KEY = { accessKeyId: 'MEMBERTESTKEY', secretAccessKey: 'member-test-secret' };

describe('s3d member processes: -node 1 -db-node 1 -port 0, and -node 2', () => {
  let dir = '';
  let run: S3dRun | undefined;
  let shardOnly: S3dRun | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3d-member-'));
    const [api, raft, shard, shard2] = await freePortBlock(5, 4);
    await writeFile(
      join(dir, 'cluster.toml'),
      [
        `base_path = ${JSON.stringify(join(dir, 'data'))}`,
        '[rs]',
        'data = 1',
        'parity = 1',
        '[[db]]',
        'id = 1',
        'host = "127.0.0.1"',
        `port = ${api}`,
        `raft_port = ${raft}`,
        '[[nodes]]',
        'id = 1',
        'host = "127.0.0.1"',
        `port = ${shard}`,
        '[[nodes]]',
        'id = 2',
        'host = "127.0.0.1"',
        `port = ${shard2}`,
        '[[auth]]',
        `access_key_id = "${S3_KEY.accessKeyId}"`,
        `secret_access_key = "${S3_KEY.secretAccessKey}"`,
        'policy = [{ bucket = "*", actions = ["s3:*"] }]',
      ].join('\n'),
    );
  });

  after(async () => {
    for (const r of [run, shardOnly]) {
      r?.kill('SIGKILL');
      await r?.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('runs s3db, the appliance and the gateway in one process; S3 works; SIGTERM → exit 0', async () => {
    // The second appliance: a shard-only host.
    shardOnly = new S3dRun(['-backend', 'distributed', '-config', 'cluster.toml', '-node', '2'], dir);
    await shardOnly.waitForLine(/^s3d: ready: node 2 serving$/, 90_000);
    run = new S3dRun(
      [
        '-backend',
        'distributed',
        '-config',
        'cluster.toml',
        '-node',
        '1',
        '-db-node',
        '1',
        '-port',
        '0',
        '-host',
        '127.0.0.1',
      ],
      dir,
    );
    const [, url] = await run.waitForLine(/^s3d: ready: S3 endpoint (http:\/\/127\.0\.0\.1:\d+)$/, 90_000);
    assert.match(run.output, /^mode: +cluster member: the parts chosen with -node \/ -db-node$/m);
    const children = (await childrenOf(run.pid)).filter((c) => c.args.some((a) => a.endsWith('bin/s3d.mjs')));
    assert.deepEqual(children, [], 'a member process starts no s3d children');

    const s3 = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      credentials: S3_KEY,
      forcePathStyle: true,
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'member' }));
      const body = Buffer.from('one process, three parts\n'.repeat(100));
      await s3.send(new PutObjectCommand({ Bucket: 'member', Key: 'k', Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'member', Key: 'k' }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    } finally {
      s3.destroy();
    }

    for (const r of [run, shardOnly]) {
      r.kill('SIGTERM');
      assert.deepEqual(await r.exited, { code: 0, signal: null }, r.output);
      assert.match(r.output, /^s3d: SIGTERM received; stopping$/m);
    }
  });
});
