// The Lambda function URL path against a real local cluster (3 s3db + 5 appliance processes):
// @aws-sdk/client-s3 and the aws CLI → local function URL emulator → handler → distributed backend.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ACCOUNT, startCluster } from '../distributed/cluster.ts';
import type { TestCluster } from '../distributed/cluster.ts';
import { startEmulatorGateway, SOURCE_EMULATOR } from './emulator-process.ts';

const run = promisify(execFile);

async function bytesOf(body: unknown): Promise<Buffer> {
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

async function awsCliAvailable(): Promise<boolean> {
  try {
    await run('aws', ['--version'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

describe('Lambda function URL path on a local cluster', () => {
  let cluster: TestCluster;
  let stopEmulator: () => Promise<void>;
  let url: string;
  let s3: S3Client;

  before(async () => {
    cluster = await startCluster(7);
    const gateway = await startEmulatorGateway({
      ...SOURCE_EMULATOR,
      configPath: cluster.configPath,
      backend: 'distributed',
    });
    stopEmulator = () => gateway.stop();
    url = gateway.url;
    s3 = new S3Client({
      endpoint: url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: ACCOUNT,
      maxAttempts: 1,
    });
  });
  after(async () => {
    s3?.destroy();
    await stopEmulator?.();
    await cluster?.stop();
  });

  it('PUT, streamed GET bit-exact, Range, HEAD, ListObjectsV2, DELETE, NoSuchKey', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'lambda-dist' }));
    const body = randomBytes(3 * 1024 * 1024 + 11);
    const put = await s3.send(new PutObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin', Body: body }));
    assert.ok(put.ETag);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin' }));
    assert.ok((await bytesOf(got.Body)).equals(body));
    const range = await s3.send(
      new GetObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin', Range: 'bytes=65530-200000' }),
    );
    assert.ok((await bytesOf(range.Body)).equals(body.subarray(65530, 200001)));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin' }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, put.ETag);
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'lambda-dist', Prefix: 'x/' }));
    assert.deepEqual(
      list.Contents?.map((c) => c.Key),
      ['x/obj.bin'],
    );
    await s3.send(new DeleteObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin' }));
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'lambda-dist', Key: 'x/obj.bin' })), {
      name: 'NoSuchKey',
    });
  });

  it('the aws CLI copies a file up and down and lists it', async (t) => {
    if (!(await awsCliAvailable())) {
      t.skip('aws CLI not installed');
      return;
    }
    const file = join(cluster.dir, 'cli-up.bin');
    const back = join(cluster.dir, 'cli-down.bin');
    const data = randomBytes(1024 * 1024 + 5);
    await writeFile(file, data);
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCOUNT.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ACCOUNT.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };
    const cli = (...args: string[]) =>
      run('aws', ['--endpoint-url', url, 's3', ...args], { env, timeout: 60_000 });
    await cli('cp', file, 's3://lambda-dist/cli/file.bin');
    await cli('cp', 's3://lambda-dist/cli/file.bin', back);
    assert.ok((await readFile(back)).equals(data));
    const listed = await cli('ls', 's3://lambda-dist/cli/');
    assert.match(listed.stdout, /file\.bin/);
  });
});
