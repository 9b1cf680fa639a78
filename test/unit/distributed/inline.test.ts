// Small objects stored inline in the object record: the size rule, the body reader, the record
// codec (old records without `inline` still decode) and ranged reads.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  DEFAULT_INLINE_MAX_BYTES,
  INLINE_LIMIT,
  inlineBytes,
  readInline,
  readInlineBody,
  storesInline,
} from '../../../gateway/backend/distributed/inline.ts';
import { writeObject } from '../../../gateway/backend/distributed/object-writer.ts';
import type { DataPathContext } from '../../../gateway/backend/distributed/context.ts';
import { DataPathError } from '../../../shared/datapath/index.ts';
import {
  MetadataRecordError,
  base64DecodedLength,
  decodeObjectRecord,
  encodeObjectRecord,
  shardsOf,
} from '../../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';

async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(p);
  return Buffer.concat(parts);
}

function inlineRecord(bytes: Buffer): ObjectRecord {
  return {
    v: 1,
    versionId: 'b'.repeat(32),
    size: bytes.length,
    etag: createHash('md5').update(bytes).digest('hex'),
    lastModified: 1_700_000_000_000,
    meta: { contentType: 'application/octet-stream', userMetadata: {} },
    segmentSize: 65536,
    chunkSize: 3 * 65536,
    chunks: [],
    inline: bytes.toString('base64'),
  };
}

describe('inline small objects', () => {
  it('stores only declared sizes from 1 byte up to the threshold (and never above the hard limit)', () => {
    assert.equal(DEFAULT_INLINE_MAX_BYTES, 4096);
    assert.equal(storesInline(undefined, 4096), false);
    assert.equal(storesInline(0, 4096), false);
    assert.equal(storesInline(1, 4096), true);
    assert.equal(storesInline(4096, 4096), true);
    assert.equal(storesInline(4097, 4096), false);
    assert.equal(storesInline(100, 0), false);
    assert.equal(storesInline(INLINE_LIMIT + 1, 10 * INLINE_LIMIT), false);
  });

  it('reads a body of exactly the declared size in any piece sizes, with its MD5', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    for (const piece of [1, 7, 1000, 3000]) {
      const got = await readInlineBody(pieces(bytes, piece), bytes.length);
      assert.deepEqual(got.bytes, bytes);
      assert.deepEqual(got.md5, createHash('md5').update(bytes).digest());
    }
  });

  it('refuses a body shorter or longer than declared with a typed error', async () => {
    const bytes = Buffer.alloc(100, 1);
    await assert.rejects(readInlineBody(pieces(bytes, 30), 101), (e: unknown) => {
      return e instanceof DataPathError && e.code === 'BODY_TOO_SHORT';
    });
    await assert.rejects(readInlineBody(pieces(bytes, 30), 99), (e: unknown) => {
      return e instanceof DataPathError && e.code === 'BODY_TOO_LONG';
    });
  });

  it('writeObject with an inline threshold writes no shard and returns the bytes', async () => {
    const ctx = {
      shards: {
        putShard: () => {
          throw new Error('no shard may be written for an inline object');
        },
      },
    } as unknown as DataPathContext;
    const bytes = Buffer.from('hello inline');
    const attempted: { chunkIndex: number; nodes: string[] }[] = [];
    const written = await writeObject(
      ctx,
      {
        bucket: 'b',
        key: 'k',
        versionId: Buffer.alloc(16),
        body: pieces(bytes, 5),
        expectedSize: bytes.length,
        inlineMaxBytes: 4096,
      },
      attempted,
    );
    assert.deepEqual(written.inline, bytes);
    assert.deepEqual(written.chunks, []);
    assert.equal(written.size, bytes.length);
    assert.equal(attempted.length, 0);
  });

  it('round-trips inline records; shardsOf is empty (nothing to collect as garbage)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (data) => {
        const bytes = Buffer.from(data);
        const record = inlineRecord(bytes);
        const back = decodeObjectRecord(encodeObjectRecord(record));
        assert.deepEqual(inlineBytes(back), bytes);
        assert.equal(base64DecodedLength(back.inline as string), bytes.length);
        assert.deepEqual(shardsOf(back), []);
      }),
      { numRuns: 100 },
    );
  });

  it('records written before inline storage (no `inline` field) still decode as before', () => {
    const old = {
      v: 1,
      versionId: 'a'.repeat(32),
      size: 100,
      etag: '0123456789abcdef0123456789abcdef',
      lastModified: 1,
      meta: { contentType: 'text/plain', userMetadata: {} },
      segmentSize: 64,
      chunkSize: 192,
      chunks: [{ length: 100, k: 3, m: 2, epoch: 0, nodes: ['1', '2', '3', '4', '5'] }],
    };
    const back = decodeObjectRecord(Buffer.from(JSON.stringify(old)));
    assert.equal(back.inline, undefined);
    assert.equal(inlineBytes(back), undefined);
  });

  it('rejects inline records whose data does not match the size, or that also have chunks', () => {
    const record = inlineRecord(Buffer.from('abcdef'));
    assert.throws(() => encodeObjectRecord({ ...record, size: 5 }), MetadataRecordError);
    assert.throws(
      () =>
        encodeObjectRecord({
          ...record,
          chunks: [{ length: 6, k: 3, m: 2, epoch: 0, nodes: ['1', '2', '3', '4', '5'] }],
        }),
      MetadataRecordError,
    );
    const bad = Buffer.from(JSON.stringify({ ...record, inline: 'not base64!' }));
    assert.throws(() => decodeObjectRecord(bad), MetadataRecordError);
  });

  it('serves ranges from the inline bytes', async () => {
    const bytes = Buffer.from('0123456789');
    assert.equal((await collect(readInline(bytes, undefined).body)).toString(), '0123456789');
    assert.equal((await collect(readInline(bytes, { start: 2, end: 4 }).body)).toString(), '234');
    assert.equal((await collect(readInline(bytes, { start: 9, end: 9 }).body)).toString(), '9');
  });
});
