// The Lambda bundle (infra/build.mjs) in a clean directory with only Node — no node_modules but the
// native packages the build copies — serves S3 through its function URL handler and the local
// emulator bundled next to it: SDK PUT/GET bit-exact, HEAD, ListObjectsV2, and the size limits.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ACCOUNTS } from '../gateway/harness.ts';
import { startEmulatorGateway } from './emulator-process.ts';
import type { StartedGateway } from '../gateway/harness.ts';

interface BuildModule {
  buildTarget(name: string, outDir?: string): Promise<{ natives: string[] }>;
}

async function hasNodeModulesAbove(dir: string): Promise<string | undefined> {
  for (let d = dirname(dir); d !== dirname(d); d = dirname(d)) {
    try {
      await access(join(d, 'node_modules'));
      return d;
    } catch {
      // none here
    }
  }
  return undefined;
}

describe('Lambda bundle in a clean directory', () => {
  let dir: string;
  let gateway: StartedGateway;
  let alice: S3Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'predastore-lambda-bundle-'));
    const buildScript = '../../../infra/build.mjs'; // plain JavaScript, no types
    const { buildTarget } = (await import(buildScript)) as BuildModule;
    const report = await buildTarget('lambda', dir);
    assert.ok(report.natives.includes('@ronomon/reed-solomon'), 'the erasure addon ships with the bundle');
    gateway = await startEmulatorGateway({
      command: [process.execPath, join(dir, 'local.mjs')],
      cwd: dir,
      env: { NODE_PATH: '' },
    });
    alice = gateway.client(ACCOUNTS.alice);
  });
  after(async () => {
    await gateway?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('has only its own node_modules, with the native addons', async () => {
    assert.equal(await hasNodeModulesAbove(dir), undefined, 'no node_modules above the temp dir');
    const top = await readdir(dir);
    assert.deepEqual(top.filter((f) => f.endsWith('.mjs')).sort(), ['index.mjs', 'local.mjs']);
    const modules = await readdir(join(dir, 'node_modules'));
    assert.ok(!modules.includes('fastify'), 'fastify is bundled, not copied');
  });

  it('serves S3 through the bundled function URL handler', async () => {
    await alice.send(new CreateBucketCommand({ Bucket: 'bundled' }));
    const body = randomBytes(1024 * 1024 + 3);
    await alice.send(new PutObjectCommand({ Bucket: 'bundled', Key: 'a/b.bin', Body: body }));
    const got = await alice.send(new GetObjectCommand({ Bucket: 'bundled', Key: 'a/b.bin' }));
    assert.ok(
      Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      ).equals(body),
    );
    const head = await alice.send(new HeadObjectCommand({ Bucket: 'bundled', Key: 'a/b.bin' }));
    assert.equal(head.ContentLength, body.length);
    const list = await alice.send(new ListObjectsV2Command({ Bucket: 'bundled', Prefix: 'a/' }));
    assert.deepEqual(
      list.Contents?.map((c) => c.Key),
      ['a/b.bin'],
    );
  });

  it('refuses bodies over the function URL limit with EntityTooLarge, and over 6 MB as Lambda does', async () => {
    const over = await fetch(`${gateway.url}/bundled/over`, {
      method: 'PUT',
      body: Buffer.alloc(4 * 1024 * 1024 + 1),
    });
    assert.equal(over.status, 400);
    assert.match(await over.text(), /<Code>EntityTooLarge<\/Code>/);
    const huge = await fetch(`${gateway.url}/bundled/huge`, {
      method: 'PUT',
      body: Buffer.alloc(6 * 1024 * 1024 + 1),
    });
    assert.equal(huge.status, 413);
    assert.match(await huge.text(), /Request must be smaller than 6291456 bytes/);
  });
});
