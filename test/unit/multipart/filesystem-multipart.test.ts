// The filesystem backend's multipart uploads without HTTP: acknowledged parts survive a restart (the
// backend reopened on the same folder), completion builds the object atomically and removes the upload,
// the same part number replaces the earlier part's file, abort removes everything.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBackend } from '../../../gateway/backend/filesystem/index.ts';
import type { MultipartBackend } from '../../../gateway/backend/types.ts';

async function* body(...pieces: string[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) yield Buffer.from(piece);
}

async function text(iterable: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(part);
  return Buffer.concat(parts).toString();
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const meta = { contentType: 'text/plain', userMetadata: { a: 'b' } };
/** Every part but the last is at least 5 MiB. */
const FIRST = 'h'.repeat(5 * 1024 * 1024);

describe('filesystem backend multipart', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('keeps acknowledged parts across a restart and completes afterwards', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pd-fs-mp-'));
    dirs.push(base);
    let backend = await FilesystemBackend.open({ basePath: base });
    await backend.createBucket('bkt', '111', 'us-east-1');
    let mp = backend.multipart as MultipartBackend;
    const upload = await mp.createMultipartUpload({ bucket: 'bkt', key: 'k', metadata: meta, owner: '111' });
    await mp.uploadPart({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      partNumber: 2,
      body: body('old'),
    });
    const replaced = await mp.uploadPart({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      partNumber: 2,
      body: body('world'),
      expectedSize: 5,
    });
    assert.equal(replaced.etag, `"${md5('world')}"`);
    await mp.uploadPart({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      partNumber: 1,
      body: body(FIRST),
    });
    await assert.rejects(
      mp.uploadPart({
        bucket: 'bkt',
        key: 'k',
        uploadId: upload.uploadId,
        partNumber: 3,
        body: body('short'),
        expectedSize: 9,
      }),
      { code: 'IncompleteBody' },
    );
    await backend.close();

    backend = await FilesystemBackend.open({ basePath: base });
    mp = backend.multipart as MultipartBackend;
    const listed = await mp.listMultipartUploads({
      bucket: 'bkt',
      prefix: '',
      delimiter: '',
      keyMarker: '',
      uploadIdMarker: '',
      maxUploads: 10,
    });
    assert.deepEqual(
      listed.uploads.map((u) => [u.key, u.uploadId, u.owner, u.metadata.userMetadata.a]),
      [['k', upload.uploadId, '111', 'b']],
    );
    const parts = await mp.listParts({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      partNumberMarker: 0,
      maxParts: 10,
    });
    assert.deepEqual(
      parts.parts.map((p) => [p.partNumber, p.size]),
      [
        [1, FIRST.length],
        [2, 5],
      ],
    );
    // Only the winning file of part 2 is left (plus part 1 and upload.json).
    assert.equal((await readdir(join(base, 'bkt', 'uploads', upload.uploadId))).length, 5);
    await assert.rejects(
      mp.listParts({
        bucket: 'bkt',
        key: 'other',
        uploadId: upload.uploadId,
        partNumberMarker: 0,
        maxParts: 1,
      }),
      {
        code: 'NoSuchUpload',
      },
    );
    await assert.rejects(backend.deleteBucket('bkt'), { code: 'BucketNotEmpty' });
    const done = await mp.completeMultipartUpload({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      parts: [
        { partNumber: 1, etag: md5(FIRST) },
        { partNumber: 2, etag: `"${md5('world')}"` },
      ],
    });
    const expectedEtag = createHash('md5')
      .update(Buffer.concat([Buffer.from(md5(FIRST), 'hex'), Buffer.from(md5('world'), 'hex')]))
      .digest('hex');
    assert.equal(done.etag, `"${expectedEtag}-2"`);
    const got = await backend.getObject('bkt', 'k');
    assert.equal(await text(got.body), FIRST + 'world');
    assert.deepEqual(got.info.partSizes, [FIRST.length, 5]);
    assert.equal(got.info.contentType, 'text/plain');
    assert.deepEqual(await readdir(join(base, 'bkt', 'uploads')), []);
    await backend.close();
    // The part sizes are stored with the object's metadata.
    backend = await FilesystemBackend.open({ basePath: base });
    assert.deepEqual((await backend.headObject('bkt', 'k')).partSizes, [FIRST.length, 5]);
    await backend.close();
  });

  it('aborts: the upload folder is gone and the id answers NoSuchUpload', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pd-fs-mp-'));
    dirs.push(base);
    const backend = await FilesystemBackend.open({ basePath: base });
    await backend.createBucket('bkt', '111', 'us-east-1');
    const mp = backend.multipart as MultipartBackend;
    const upload = await mp.createMultipartUpload({ bucket: 'bkt', key: 'k', metadata: meta, owner: '111' });
    await mp.uploadPart({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      partNumber: 1,
      body: body('x'),
    });
    await mp.abortMultipartUpload('bkt', 'k', upload.uploadId);
    assert.deepEqual(await readdir(join(base, 'bkt', 'uploads')), []);
    await assert.rejects(mp.abortMultipartUpload('bkt', 'k', upload.uploadId), { code: 'NoSuchUpload' });
    await assert.rejects(
      mp.uploadPart({ bucket: 'bkt', key: 'k', uploadId: upload.uploadId, partNumber: 1, body: body('x') }),
      { code: 'NoSuchUpload' },
    );
    await assert.rejects(mp.abortMultipartUpload('bkt', 'k', '../../etc'), { code: 'NoSuchUpload' });
    assert.deepEqual(await readdir(join(base, '.tmp')), []);
    await backend.deleteBucket('bkt');
    await backend.close();
  });
});
