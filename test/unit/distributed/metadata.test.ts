import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { paginateKeys } from '../../../gateway/s3/paginate.ts';
import { compareKeys } from '../../../gateway/s3/key-order.ts';
import {
  bucketKey,
  garbageKey,
  objectKey,
  objectKeyName,
  pastPrefix,
  repairKey,
} from '../../../shared/metadata/keys.ts';
import { listByScans } from '../../../gateway/backend/distributed/list-plan.ts';
import type { Scan } from '../../../gateway/backend/distributed/list-plan.ts';
import {
  MetadataRecordError,
  decodeBucketRecord,
  decodeGarbageRecord,
  decodeObjectRecord,
  encodeBucketRecord,
  encodeGarbageRecord,
  encodeObjectRecord,
  shardsOf,
} from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';

const record: ObjectRecord = {
  v: 1,
  versionId: 'a'.repeat(32),
  size: 100,
  etag: '0123456789abcdef0123456789abcdef',
  lastModified: 1_700_000_000_000,
  meta: { contentType: 'text/plain', userMetadata: { color: 'blue' }, cacheControl: 'no-cache' },
  segmentSize: 64,
  chunkSize: 64 * 3,
  chunks: [{ length: 100, k: 3, m: 2, epoch: 0, nodes: ['1', '2', '3', '4', '5'] }],
};

describe('distributed metadata records', () => {
  it('round-trips object, bucket and garbage records', () => {
    assert.deepEqual(decodeObjectRecord(encodeObjectRecord(record)), record);
    const bucket = { v: 1 as const, owner: '000000000000', created: 5, region: '' };
    assert.deepEqual(decodeBucketRecord(encodeBucketRecord(bucket)), bucket);
    const garbage = {
      v: 1 as const,
      versionId: record.versionId,
      reason: 'overwrite' as const,
      created: 1,
      notBefore: 0,
      attempts: 0,
      shards: shardsOf(record),
    };
    assert.equal(garbage.shards.length, 5);
    assert.deepEqual(decodeGarbageRecord(encodeGarbageRecord(garbage)), garbage);
  });

  it('rejects damaged or inconsistent records with a typed error', () => {
    assert.throws(() => decodeObjectRecord(Buffer.from('{not json')), MetadataRecordError);
    assert.throws(
      () => decodeObjectRecord(Buffer.from(JSON.stringify({ ...record, v: 2 }))),
      MetadataRecordError,
    );
    assert.throws(() => encodeObjectRecord({ ...record, size: 101 }), /chunks hold 100 bytes/);
    const badPlacement = { ...record, chunks: [{ ...record.chunks[0]!, nodes: ['1', '2'] }] };
    assert.throws(() => encodeObjectRecord(badPlacement), /places 2 shards/);
  });
});

describe('distributed key layout', () => {
  it('orders object keys by bucket, then key bytes; separates buckets', () => {
    const a = objectKey('b', 'a');
    assert.equal(objectKeyName('b', a), 'a');
    assert.ok(Buffer.compare(objectKey('b', 'zzz'), objectKey('b0', '')) < 0);
    assert.ok(Buffer.compare(objectKey('b', 'a/'), pastPrefix('b', 'a/')) < 0);
    assert.ok(Buffer.compare(objectKey('b', 'a/\u{10ffff}'), pastPrefix('b', 'a/')) < 0);
    assert.ok(Buffer.compare(pastPrefix('b', 'a/'), objectKey('b', 'a0')) < 0);
    assert.deepEqual(bucketKey('x'), Buffer.from('x'));
    assert.throws(() => objectKeyName('bb', a));
  });

  it('garbage keys sort by time; repair keys group by version and chunk', () => {
    const v = Buffer.alloc(16, 7);
    assert.ok(Buffer.compare(garbageKey(v, 1000), garbageKey(v, 2000)) < 0);
    assert.equal(repairKey(v, 3, 9).subarray(0, 16).equals(v), true);
  });
});

function memoryScan(bucket: string, keys: string[]): { scan: Scan; calls: () => number } {
  const stored = keys.map((k) => objectKey(bucket, k)).sort(Buffer.compare);
  let calls = 0;
  const scan: Scan = async ({ prefix, startAfter, limit }) => {
    calls++;
    const from = stored.filter(
      (k) =>
        k.subarray(0, prefix.length).equals(Buffer.from(prefix)) &&
        (startAfter === undefined || Buffer.compare(k, Buffer.from(startAfter)) > 0),
    );
    return {
      items: from.slice(0, limit).map((key) => ({ key, value: Buffer.from(objectKeyName(bucket, key)) })),
      truncated: from.length > limit,
    };
  };
  return { scan, calls: () => calls };
}

describe('ListObjects as range scans', () => {
  it('matches the filesystem backend paging for any keys, prefix, delimiter, after, maxKeys', async () => {
    const char = fc.constantFrom('a', 'b', '/', '-', 'é', '\u{1f600}', 'z');
    const word = fc.array(char, { maxLength: 6 }).map((cs) => cs.join(''));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          word.filter((w) => w.length > 0),
          { maxLength: 40 },
        ),
        word,
        fc.constantFrom('', '/', '-', 'b/'),
        word,
        fc.integer({ min: 0, max: 12 }),
        async (keys, prefix, delimiter, after, maxKeys) => {
          const sorted = [...keys].sort(compareKeys);
          const expected = paginateKeys(sorted, { prefix, delimiter, after, maxKeys });
          const { scan } = memoryScan('bkt', keys);
          const got = await listByScans(scan, { bucket: 'bkt', prefix, delimiter, after, maxKeys }, (v) =>
            Buffer.from(v).toString(),
          );
          assert.deepEqual(
            got.entries.map((e) => (e.kind === 'key' ? { kind: 'key', value: e.key } : e)),
            expected.entries,
          );
          for (const e of got.entries) if (e.kind === 'key') assert.equal(e.record, e.key);
          assert.equal(got.isTruncated, expected.isTruncated);
          assert.equal(got.nextAfter, expected.nextAfter);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips a common prefix with one scan instead of reading every key under it', async () => {
    const keys = [...Array.from({ length: 5000 }, (_, i) => `dir/${i}`), 'file', 'other/x'];
    const { scan, calls } = memoryScan('bkt', keys);
    const page = await listByScans(
      scan,
      { bucket: 'bkt', prefix: '', delimiter: '/', after: '', maxKeys: 1000 },
      String,
    );
    assert.deepEqual(
      page.entries.map((e) => (e.kind === 'key' ? e.key : e.value)),
      ['dir/', 'file', 'other/'],
    );
    assert.ok(calls() <= 4, `used ${calls()} scans`);
  });
});
