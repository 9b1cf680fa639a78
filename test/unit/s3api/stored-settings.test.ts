// Tags, checksums and bucket settings survive in both backends' stored forms: the s3db record codecs
// (old records without the fields still decode) and the filesystem backend across a restart.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeBucketRecord,
  decodeObjectRecord,
  encodeBucketRecord,
  encodeObjectRecord,
} from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import { FilesystemBackend } from '../../../gateway/backend/filesystem/index.ts';
import { S3Error } from '../../../gateway/errors.ts';

const base: ObjectRecord = {
  v: 1,
  versionId: 'ab'.repeat(16),
  size: 10,
  etag: 'cd'.repeat(16),
  lastModified: 1,
  meta: { contentType: 'text/plain', userMetadata: {} },
  segmentSize: 65536,
  chunkSize: 196608,
  chunks: [{ length: 10, k: 3, m: 2, epoch: 0, nodes: ['1', '2', '3', '4', '5'] }],
};

describe('record codecs: tags, checksum, CORS, versioning', () => {
  it('round-trip the new optional fields and read old records as having none', () => {
    const tagged: ObjectRecord = {
      ...base,
      tags: [{ key: 'k', value: 'v' }],
      checksum: { algorithm: 'CRC32C', value: 'AAAAAA==' },
    };
    assert.deepEqual(decodeObjectRecord(encodeObjectRecord(tagged)), tagged);
    const old = decodeObjectRecord(Buffer.from(JSON.stringify(base)));
    assert.equal(old.tags, undefined);
    assert.equal(old.checksum, undefined);
    const bucket = {
      v: 1 as const,
      owner: 'acct',
      created: 5,
      region: 'us-east-1',
      cors: [
        {
          allowedOrigins: ['*'],
          allowedMethods: ['GET'],
          allowedHeaders: [],
          exposeHeaders: [],
          maxAgeSeconds: 3,
        },
      ],
      versioning: 'Suspended' as const,
    };
    assert.deepEqual(decodeBucketRecord(encodeBucketRecord(bucket)), bucket);
    const oldBucket = decodeBucketRecord(
      Buffer.from(JSON.stringify({ v: 1, owner: 'a', created: 1, region: '' })),
    );
    assert.equal(oldBucket.cors, undefined);
    assert.throws(() =>
      decodeObjectRecord(
        Buffer.from(JSON.stringify({ ...base, checksum: { algorithm: 'MD5', value: 'x' } })),
      ),
    );
  });
});

describe('filesystem backend: tags, checksum and bucket settings', () => {
  let dir: string;
  let backend: FilesystemBackend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pd-s3api-fs-'));
    backend = await FilesystemBackend.open({ basePath: dir });
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function* body(text: string): AsyncGenerator<Buffer> {
    yield Buffer.from(text);
  }

  it('keeps them across a restart; tag updates keep data, checksum and metadata', async () => {
    await backend.createBucket('b', 'acct', 'us-east-1');
    await backend.putObject({
      bucket: 'b',
      key: 'k',
      body: body('hello'),
      metadata: { contentType: 'text/plain', userMetadata: { a: '1' } },
      expectedSize: 5,
      tags: [{ key: 't', value: '1' }],
      checksum: () => ({ algorithm: 'SHA256', value: 'LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=' }),
    });
    const tagged = await backend.setObjectTags('b', 'k', [{ key: 'x', value: 'y' }]);
    assert.deepEqual(tagged.tags, [{ key: 'x', value: 'y' }]);
    await backend.updateBucketSettings('b', (s) => ({
      ...s,
      cors: [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: [] }],
    }));
    await backend.updateBucketSettings('b', (s) => ({ ...s, versioning: 'Suspended' }));
    await backend.close();

    backend = await FilesystemBackend.open({ basePath: dir });
    const info = await backend.headObject('b', 'k');
    assert.deepEqual(info.tags, [{ key: 'x', value: 'y' }]);
    assert.equal(info.checksum?.algorithm, 'SHA256');
    assert.deepEqual(info.userMetadata, { a: '1' });
    const got = await backend.getObject('b', 'k');
    const parts: Buffer[] = [];
    for await (const part of got.body) parts.push(part);
    assert.equal(Buffer.concat(parts).toString(), 'hello');
    const bucket = await backend.headBucket('b');
    assert.equal(bucket.versioning, 'Suspended');
    assert.deepEqual(bucket.cors?.[0]?.allowedOrigins, ['*']);
    const stored = JSON.parse(await readFile(join(dir, 'b', 'bucket.json'), 'utf8')) as { owner: string };
    assert.equal(stored.owner, 'acct');

    await backend.setObjectTags('b', 'k', []);
    assert.equal((await backend.headObject('b', 'k')).tags, undefined);
    await backend.updateBucketSettings('b', ({ cors: _c, ...rest }) => rest);
    assert.equal((await backend.headBucket('b')).cors, undefined);
    await assert.rejects(backend.setObjectTags('b', 'missing', []), (e: unknown) => {
      assert.ok(e instanceof S3Error);
      assert.equal(e.code, 'NoSuchKey');
      return true;
    });
    await assert.rejects(
      backend.updateBucketSettings('nope', (s) => s),
      /does not exist/,
    );
  });

  it('does not remember missing buckets (CORS preflights are unauthenticated and may name any)', async () => {
    for (let i = 0; i < 50; i++) await assert.rejects(backend.headBucket(`missing-${i}`), /does not exist/);
    await new Promise((r) => setImmediate(r));
    const cache = (backend as unknown as { buckets: Map<string, unknown> }).buckets;
    assert.deepEqual([...cache.keys()], ['b']);
  });
});
