// `s3d -backend filesystem`: the real command serves S3 (PUT/GET with the AWS SDK), says where once it
// does, and stops cleanly on SIGTERM.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3dRun } from './harness.ts';

const KEY = { accessKeyId: 'FSTESTKEY', secretAccessKey: 'filesystem-test-secret' };

describe('s3d -backend filesystem', () => {
  let dir = '';
  let run: S3dRun | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3d-fs-'));
    await writeFile(
      join(dir, 'server.toml'),
      [
        'base_path = "./objects"',
        '[[auth]]',
        `access_key_id = "${KEY.accessKeyId}"`,
        `secret_access_key = "${KEY.secretAccessKey}"`,
        'policy = [{ bucket = "*", actions = ["s3:*"] }]',
        '[[buckets]]',
        'name = "preconfigured"',
        '[[buckets]]',
        'name = "elsewhere"',
        'type = "distributed"',
      ].join('\n'),
    );
  });

  after(async () => {
    run?.kill('SIGKILL');
    await run?.exited;
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the endpoint and key once S3 works, serves PUT/GET, and exits 0 on SIGTERM', async () => {
    run = new S3dRun(
      ['-backend', 'filesystem', '-config', 'server.toml', '-port', '0', '-host', '127.0.0.1'],
      dir,
    );
    const [, url] = await run.waitForLine(/^s3d: ready: S3 endpoint (http:\/\/127\.0\.0\.1:\d+)$/, 60_000);
    assert.ok(url);
    await run.waitForLine(/^s3d: {3}access key id FSTESTKEY, region us-east-1$/, 5000);

    const s3 = new S3Client({ endpoint: url, region: 'us-east-1', credentials: KEY, forcePathStyle: true });
    try {
      // [[buckets]] of this backend exist from the start; one typed for the other backend does not.
      const listed = await s3.send(new ListBucketsCommand({}));
      assert.deepEqual(
        listed.Buckets?.map((b) => b.Name),
        ['preconfigured'],
      );
      await s3.send(new CreateBucketCommand({ Bucket: 'cli-test' }));
      const body = Buffer.from('hello from s3d\n'.repeat(1000));
      await s3.send(new PutObjectCommand({ Bucket: 'cli-test', Key: 'a/b.txt', Body: body }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'cli-test', Key: 'a/b.txt' }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    } finally {
      s3.destroy();
    }

    run.kill('SIGTERM');
    const exit = await run.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, run.output);
    assert.match(run.output, /^s3d: SIGTERM received; stopping$/m);
  });
});
