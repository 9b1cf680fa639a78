import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBackend } from '../../../gateway/backend/filesystem/index.ts';
import type { ObjectMetadata } from '../../../gateway/backend/types.ts';
import { S3Error } from '../../../gateway/errors.ts';

const META: ObjectMetadata = { contentType: 'application/test', userMetadata: { a: '1' } };

async function* chunks(...parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const part of parts) yield part;
}

async function* failingAfter(part: Buffer): AsyncGenerator<Buffer> {
  yield part;
  throw new Error('client went away');
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
}

async function s3Code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S3Error) return error.code;
    return `non-S3 error: ${String(error)}`;
  }
  return 'no error';
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('filesystem backend', () => {
  let base: string;
  let backend: FilesystemBackend;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'predastore-fsb-'));
    backend = await FilesystemBackend.open({ basePath: base });
  });
  after(async () => {
    await backend.close();
    await rm(base, { recursive: true, force: true });
  });

  it('creates buckets once, per owner, and lists them by owner', async () => {
    await backend.createBucket('one', 'acct-a', 'us-east-1');
    await backend.createBucket('two', 'acct-b', '');
    assert.equal(await s3Code(backend.createBucket('one', 'acct-a', '')), 'BucketAlreadyOwnedByYou');
    assert.equal(await s3Code(backend.createBucket('one', 'acct-b', '')), 'BucketAlreadyExists');
    assert.deepEqual(
      (await backend.listBuckets('acct-a')).map((b) => b.name),
      ['one'],
    );
    assert.deepEqual(
      (await backend.listBuckets()).map((b) => b.name),
      ['one', 'two'],
    );
    assert.equal((await backend.headBucket('one')).owner, 'acct-a');
    assert.equal(await s3Code(backend.headBucket('nope')), 'NoSuchBucket');
    const results = await Promise.allSettled([
      backend.createBucket('race', 'x', ''),
      backend.createBucket('race', 'y', ''),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  it('stores, reads (whole and ranged), overwrites and deletes objects', async () => {
    const data = randomBytes(300_000);
    const put = await backend.putObject({
      bucket: 'one',
      key: 'obj',
      body: chunks(data.subarray(0, 1000), data.subarray(1000)),
      metadata: META,
      expectedSize: data.length,
    });
    assert.equal(put.etag, `"${createHash('md5').update(data).digest('hex')}"`);
    assert.equal(put.size, data.length);
    const got = await backend.getObject('one', 'obj');
    assert.ok((await collect(got.body)).equals(data));
    assert.deepEqual(got.info.userMetadata, { a: '1' });
    const ranged = await backend.getObject('one', 'obj', { range: () => ({ start: 262_000, end: 262_200 }) });
    assert.ok((await collect(ranged.body)).equals(data.subarray(262_000, 262_201)));
    assert.deepEqual(ranged.range, { start: 262_000, end: 262_200 });

    await backend.putObject({ bucket: 'one', key: 'obj', body: chunks(Buffer.from('v2')), metadata: META });
    assert.equal((await collect((await backend.getObject('one', 'obj')).body)).toString(), 'v2');
    await backend.deleteObject('one', 'obj');
    await backend.deleteObject('one', 'obj');
    assert.equal(await s3Code(backend.headObject('one', 'obj')), 'NoSuchKey');
    assert.equal(await s3Code(backend.deleteObject('nope', 'obj')), 'NoSuchBucket');
  });

  it('keeps the old object when a PUT fails for any reason, leaving no stray files', async () => {
    await backend.putObject({
      bucket: 'one',
      key: 'keep',
      body: chunks(Buffer.from('original')),
      metadata: META,
    });
    const before = (await filesUnder(base)).sort();
    const attempts: [string, () => Promise<unknown>][] = [
      [
        'client abort',
        () =>
          backend.putObject({
            bucket: 'one',
            key: 'keep',
            body: failingAfter(Buffer.from('par')),
            metadata: META,
          }),
      ],
      [
        'short body',
        () =>
          backend.putObject({
            bucket: 'one',
            key: 'keep',
            body: chunks(Buffer.from('abc')),
            metadata: META,
            expectedSize: 10,
          }),
      ],
      [
        'long body',
        () =>
          backend.putObject({
            bucket: 'one',
            key: 'keep',
            body: chunks(Buffer.from('abcdef')),
            metadata: META,
            expectedSize: 2,
          }),
      ],
      [
        'bad md5',
        () =>
          backend.putObject({
            bucket: 'one',
            key: 'keep',
            body: chunks(Buffer.from('x')),
            metadata: META,
            expectedMd5: Buffer.alloc(16),
          }),
      ],
      [
        'verification failure',
        () =>
          backend.putObject({
            bucket: 'one',
            key: 'keep',
            body: chunks(Buffer.from('y')),
            metadata: META,
            beforeCommit: () => {
              throw new S3Error('SignatureDoesNotMatch', 'bad chunk', 403);
            },
          }),
      ],
    ];
    for (const [what, attempt] of attempts) await assert.rejects(attempt(), Error, what);
    assert.equal((await collect((await backend.getObject('one', 'keep')).body)).toString(), 'original');
    assert.deepEqual((await filesUnder(base)).sort(), before);
  });

  it('serialises concurrent overwrites: one winner, one data file, readable meanwhile', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.from(`version-${i}-`.repeat(1000)));
    const reads: Promise<Buffer>[] = [];
    await Promise.all(
      bodies.map(async (body, i) => {
        await backend.putObject({ bucket: 'one', key: 'hot', body: chunks(body), metadata: META });
        if (i % 3 === 0) reads.push(backend.getObject('one', 'hot').then((r) => collect(r.body)));
      }),
    );
    for (const read of await Promise.all(reads)) assert.ok(bodies.some((b) => b.equals(read)));
    const final = await collect((await backend.getObject('one', 'hot')).body);
    assert.ok(bodies.some((b) => b.equals(final)));
    const hotFiles = (await filesUnder(join(base, 'one'))).filter((f) => !f.endsWith('.json'));
    const index = await backend.headObject('one', 'hot');
    assert.equal(hotFiles.filter((f) => f.endsWith(`.${index.versionId}`)).length, 1);
  });

  it('refuses to delete a non-empty bucket', async () => {
    await backend.createBucket('busy', 'acct-a', '');
    await backend.putObject({ bucket: 'busy', key: 'k', body: chunks(Buffer.from('x')), metadata: META });
    assert.equal(await s3Code(backend.deleteBucket('busy')), 'BucketNotEmpty');
    await backend.deleteObject('busy', 'k');
    await backend.deleteBucket('busy');
    assert.equal(await s3Code(backend.headBucket('busy')), 'NoSuchBucket');
    await backend.createBucket('busy', 'acct-b', '');
    assert.equal((await backend.headBucket('busy')).owner, 'acct-b');
  });

  it('lists in UTF-8 order with prefixes and delimiters', async () => {
    await backend.createBucket('list', 'acct-a', '');
    const keys = ['b', 'a/2', 'a/1', 'ü', '😀', '\uffee', 'a/sub/x', 'c'];
    for (const key of keys)
      await backend.putObject({ bucket: 'list', key, body: chunks(Buffer.from(key)), metadata: META });
    const all = await backend.listObjects({
      bucket: 'list',
      prefix: '',
      delimiter: '',
      after: '',
      maxKeys: 1000,
    });
    assert.deepEqual(
      all.contents.map((c) => c.key),
      [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
    );
    const rolled = await backend.listObjects({
      bucket: 'list',
      prefix: 'a/',
      delimiter: '/',
      after: '',
      maxKeys: 1000,
    });
    assert.deepEqual(
      rolled.contents.map((c) => c.key),
      ['a/1', 'a/2'],
    );
    assert.deepEqual(rolled.commonPrefixes, ['a/sub/']);
  });

  it('survives a restart: index rebuilt from disk, orphans removed, busy base_path refused', async () => {
    const orphan = join(base, 'list', 'objects', 'ab', `${'ab'.padEnd(64, '0')}.deadbeef`);
    await writeFile(orphan, 'half-written version');
    await backend.close();
    const other = await FilesystemBackend.open({ basePath: base });
    try {
      assert.equal((await collect((await other.getObject('list', 'ü')).body)).toString(), 'ü');
      assert.equal((await other.headBucket('one')).owner, 'acct-a');
      const listed = await other.listObjects({
        bucket: 'list',
        prefix: '',
        delimiter: '',
        after: '',
        maxKeys: 1000,
      });
      assert.equal(listed.contents.length, 8);
      assert.ok(!(await filesUnder(join(base, 'list'))).includes(orphan));
    } finally {
      await other.close();
    }
    // A live process other than us holds the lock: refused.
    await writeFile(join(base, '.lock'), `${process.ppid}\n`);
    await assert.rejects(FilesystemBackend.open({ basePath: base }), /in use by process/);
    backend = await FilesystemBackend.open({ basePath: join(base, 'fresh') });
  });
});
