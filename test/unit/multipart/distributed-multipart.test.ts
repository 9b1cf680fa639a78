// The distributed backend's multipart metadata logic over an in-memory s3db (no processes): 10 000 parts
// listed page by page and completed into one manifest with every s3db batch within 1 000 operations;
// abort turns every part's shards into garbage; a part committed during a completion makes it re-read.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DistributedMultipart } from '../../../gateway/backend/distributed/multipart.ts';
import { TABLES, bucketKey, partKey, uploadKey } from '../../../shared/metadata/keys.ts';
import {
  decodeGarbageRecord,
  decodeObjectRecord,
  encodeBucketRecord,
  encodePartRecord,
} from '../../../shared/metadata/records.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import { FakeDb } from '../rebalance/fakes.ts';

const MiB = 1024 * 1024;
const hex = (n: number): string => n.toString(16).padStart(32, '0');

async function setup(): Promise<{ db: FakeDb; mp: DistributedMultipart; batches: number[] }> {
  const db = new FakeDb();
  const batches: number[] = [];
  const batch = db.batch.bind(db);
  db.batch = async (pre, ops) => {
    batches.push(ops.length);
    assert.ok(ops.length <= 1000 && pre.length <= 1000, `batch of ${ops.length} ops`);
    return batch(pre, ops);
  };
  await db.put(
    TABLES.buckets,
    bucketKey('bkt'),
    encodeBucketRecord({ v: 1, owner: '1', created: 0, region: '' }),
  );
  const mp = new DistributedMultipart({
    db: () => db as unknown as S3dbClient,
    writeContext: () => Promise.reject(new Error('no data path in this test')),
    requireBucket: async (bucket) => {
      if ((await db.get(TABLES.buckets, bucketKey(bucket))) === undefined) throw new Error('NoSuchBucket');
    },
  });
  return { db, mp, batches };
}

async function addParts(db: FakeDb, uploadId: string, count: number): Promise<string[]> {
  const id = Buffer.from(uploadId, 'hex');
  const etags: string[] = [];
  for (let n = 1; n <= count; n++) {
    const etag = (n % 16).toString(16).repeat(32);
    etags.push(etag);
    const size = n === count ? 10 : 5 * MiB;
    await db.put(
      TABLES.parts,
      partKey(id, n),
      encodePartRecord({
        v: 1,
        uploadId,
        partNumber: n,
        dataId: hex(n),
        size,
        etag,
        lastModified: 0,
        segmentSize: 65536,
        chunkSize: 32 * MiB,
        chunks: [{ length: size, k: 3, m: 2, epoch: 0, nodes: ['1', '2', '3', '4', '5'] }],
      }),
    );
  }
  return etags;
}

describe('distributed multipart metadata', () => {
  it('lists 10 000 parts page by page and completes them into one manifest in bounded batches', async () => {
    const { db, mp, batches } = await setup();
    const upload = await mp.createMultipartUpload({
      bucket: 'bkt',
      key: 'big',
      metadata: { contentType: 'x', userMetadata: {} },
      owner: '1',
    });
    const etags = await addParts(db, upload.uploadId, 10_000);
    const seen: number[] = [];
    let marker = 0;
    for (let page = 0; page < 20; page++) {
      const got = await mp.listParts({
        bucket: 'bkt',
        key: 'big',
        uploadId: upload.uploadId,
        partNumberMarker: marker,
        maxParts: 1000,
      });
      seen.push(...got.parts.map((p) => p.partNumber));
      if (!got.isTruncated) break;
      marker = got.nextPartNumberMarker as number;
    }
    assert.equal(seen.length, 10_000);
    assert.deepEqual(seen.slice(998, 1002), [999, 1000, 1001, 1002]);
    batches.length = 0;
    const done = await mp.completeMultipartUpload({
      bucket: 'bkt',
      key: 'big',
      uploadId: upload.uploadId,
      parts: etags.map((etag, i) => ({ partNumber: i + 1, etag: `"${etag}"` })),
    });
    assert.match(done.etag, /^"[0-9a-f]{32}-10000"$/);
    assert.equal(done.size, 9_999 * 5 * MiB + 10);
    assert.ok(batches.length >= 11, `${batches.length} batches`);
    const stored = await db.get(
      TABLES.objects,
      Buffer.concat([Buffer.from('bkt'), Buffer.from([0]), Buffer.from('big')]),
    );
    const record = decodeObjectRecord((stored as { value: Uint8Array }).value);
    assert.equal(record.chunks.length, 10_000);
    assert.deepEqual(record.chunks[9_999]?.data, { versionId: hex(10_000), chunkIndex: 0 });
    assert.equal(db.count(TABLES.parts), 0);
    assert.equal(db.count(TABLES.uploads), 0);
    assert.equal(db.count(TABLES.garbage), 0);
    await assert.rejects(
      mp.listParts({
        bucket: 'bkt',
        key: 'big',
        uploadId: upload.uploadId,
        partNumberMarker: 0,
        maxParts: 1,
      }),
      { code: 'NoSuchUpload' },
    );
  });

  it('abort turns every part into garbage (split records) and removes the part records', async () => {
    const { db, mp } = await setup();
    const upload = await mp.createMultipartUpload({
      bucket: 'bkt',
      key: 'k',
      metadata: { contentType: 'x', userMetadata: {} },
      owner: '1',
    });
    await addParts(db, upload.uploadId, 1200);
    await mp.abortMultipartUpload('bkt', 'k', upload.uploadId);
    assert.equal(db.count(TABLES.parts), 0);
    assert.equal(db.count(TABLES.uploads), 0);
    const refs = (await db.scan(TABLES.garbage, { limit: 100 })).items.flatMap(
      (i) => decodeGarbageRecord(i.value).shards,
    );
    assert.equal(refs.length, 1200 * 5);
    assert.equal(new Set(refs.map((r) => r.versionId)).size, 1200);
  });

  it('a part committed while completing makes the completion read again; unused parts become garbage', async () => {
    const { db, mp } = await setup();
    const upload = await mp.createMultipartUpload({
      bucket: 'bkt',
      key: 'k',
      metadata: { contentType: 'x', userMetadata: {} },
      owner: '1',
    });
    const etags = await addParts(db, upload.uploadId, 3);
    const key = uploadKey('bkt', 'k', Buffer.from(upload.uploadId, 'hex'));
    let touched = false;
    db.beforeBatch = () => {
      // An UploadPart commit re-puts the upload record (new version) just before our batch.
      const current = db.tables.get(TABLES.uploads)?.get(key.toString('hex'));
      if (current !== undefined) void db.put(TABLES.uploads, key, current.value);
      touched = true;
    };
    await mp.completeMultipartUpload({
      bucket: 'bkt',
      key: 'k',
      uploadId: upload.uploadId,
      parts: [
        { partNumber: 1, etag: etags[0] as string },
        { partNumber: 3, etag: etags[2] as string },
      ],
    });
    assert.ok(touched);
    const garbage = (await db.scan(TABLES.garbage, { limit: 10 })).items.map((i) =>
      decodeGarbageRecord(i.value),
    );
    assert.deepEqual(
      garbage.flatMap((g) => g.shards.map((s) => s.versionId)),
      Array(5).fill(hex(2)),
    );
    await assert.rejects(
      mp.uploadPart({
        bucket: 'bkt',
        key: 'k',
        uploadId: upload.uploadId,
        partNumber: 1,
        body: (async function* () {})(),
      }),
      { code: 'NoSuchUpload' },
    );
  });
});
