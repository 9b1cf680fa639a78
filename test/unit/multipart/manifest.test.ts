// Multipart manifests: records with chunks of varying length validate, their shards are addressed
// through shardLocation(), and a range over a manifest maps through the recorded chunk lengths to only
// the chunks (and segments) it needs — checked byte for byte against really encoded parts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ObjectEncoder, makeGeometry, planRange, sliceChunk } from '../../../shared/datapath/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import {
  decodeGarbageRecord,
  decodeObjectRecord,
  encodeObjectRecord,
  shardLocation,
  shardsOf,
} from '../../../shared/metadata/records.ts';
import type { ChunkRecord, PartRecord } from '../../../shared/metadata/records.ts';
import { chunkSchemes, planRecordRange } from '../../../gateway/backend/distributed/multipart-range.ts';
import { garbageOps, manifestRecord, partShards } from '../../../gateway/backend/distributed/multipart.ts';
import { newUploadId, partKey, uploadKey, uploadKeyParts } from '../../../shared/metadata/keys.ts';

const g = makeGeometry({ k: 2, m: 1 }, { segmentSize: 8, maxChunkSize: 48 });
const hex = (n: number): string => n.toString(16).padStart(32, '0');

/** Encodes one part: its chunk records and, per chunk, the k data shards' segments. */
async function encodePart(
  geometry: Geometry,
  data: Buffer,
): Promise<{ chunks: ChunkRecord[]; shards: Buffer[][][] }> {
  const encoder = new ObjectEncoder({ geometry, expectedSize: data.length });
  const chunks: ChunkRecord[] = [];
  const shards: Buffer[][][] = [];
  for await (const stripe of encoder.encode(
    (async function* () {
      yield data;
    })(),
  )) {
    const { k, m } = geometry.scheme;
    if (stripe.stripeIndex === 0) shards[stripe.chunkIndex] = Array.from({ length: k + m }, () => []);
    stripe.segments.forEach((s, j) => (shards[stripe.chunkIndex] as Buffer[][])[j]?.push(Buffer.from(s)));
    if (stripe.lastInChunk && stripe.chunk !== undefined)
      chunks.push({
        length: stripe.chunk.length,
        k,
        m,
        epoch: 0,
        nodes: Array.from({ length: k + m }, (_, j) => String(j + 1)),
      });
    stripe.release();
  }
  return { chunks, shards };
}

function part(partNumber: number, chunks: ChunkRecord[], size: number): PartRecord {
  return {
    v: 1,
    uploadId: hex(1),
    partNumber,
    dataId: hex(100 + partNumber),
    size,
    etag: 'a'.repeat(32),
    lastModified: 0,
    segmentSize: g.segmentSize,
    chunkSize: g.chunkSize,
    chunks,
  };
}

describe('multipart manifests', () => {
  it('reads any range of a manifest byte for byte, touching only the chunks it overlaps', async () => {
    const sizes = [100, 48, 1, 97];
    const datas = sizes.map((n) => randomBytes(n));
    // Part 2 was written after the cluster moved to RS(3,1): other stripes, other chunk size.
    const g3 = makeGeometry({ k: 3, m: 1 }, { segmentSize: 8, maxChunkSize: 50 });
    const encoded = await Promise.all(datas.map((d, i) => encodePart(i === 1 ? g3 : g, d)));
    const parts = encoded.map((e, i) => ({
      ...part(i + 1, e.chunks, sizes[i] as number),
      chunkSize: (i === 1 ? g3 : g).chunkSize,
    }));
    const record = manifestRecord(
      hex(7),
      { meta: { contentType: 'x', userMetadata: {} } },
      parts,
      'e'.repeat(32) + '-4',
      0,
    );
    decodeObjectRecord(encodeObjectRecord(record));
    const segments = encoded.flatMap((e) => e.shards);
    const whole = Buffer.concat(datas);
    assert.equal(record.size, whole.length);
    fc.assert(
      fc.property(fc.nat(whole.length - 1), fc.nat(whole.length - 1), (a, b) => {
        const range = { start: Math.min(a, b), end: Math.max(a, b) };
        const plan = planRecordRange(g, record, range, chunkSchemes(record).geometry);
        const bytes = Buffer.concat(
          plan.chunks.flatMap((c) =>
            sliceChunk(c, (j, s) => (segments[c.chunkIndex] as Buffer[][])[j]?.[s] as Buffer),
          ),
        );
        assert.ok(bytes.equals(whole.subarray(range.start, range.end + 1)));
        // Only overlapping chunks, in order, without gaps.
        let offset = 0;
        const touched = record.chunks.flatMap((chunk, i) => {
          const from = offset;
          offset += chunk.length;
          return from <= range.end && offset - 1 >= range.start ? [i] : [];
        });
        assert.deepEqual(
          plan.chunks.map((c) => c.chunkIndex),
          touched,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('plans exactly like planRange for uniform chunks', () => {
    const size = 48 * 3 + 20;
    const record = {
      size,
      chunks: [48, 48, 48, 20].map((length) => ({ length })),
    };
    for (const range of [
      undefined,
      { start: 0, end: 0 },
      { start: 47, end: 48 },
      { start: 30, end: size - 1 },
    ])
      assert.deepEqual(planRecordRange(g, record, range), planRange(g, size, range));
    assert.throws(() => planRecordRange(g, record, { start: 0, end: size }), { code: 'BAD_RANGE' });
  });

  it('validates manifest records; plain records keep the uniform-chunk rule', () => {
    const chunk = (length: number): ChunkRecord => ({ length, k: 2, m: 1, epoch: 0, nodes: ['1', '2', '3'] });
    const base = {
      v: 1 as const,
      versionId: hex(9),
      size: 30,
      etag: 'b'.repeat(32) + '-2',
      lastModified: 0,
      meta: { contentType: 'x', userMetadata: {} },
      segmentSize: 8,
      chunkSize: 48,
    };
    decodeObjectRecord(
      encodeObjectRecord({
        ...base,
        chunks: [chunk(10), chunk(20)],
        parts: [
          { size: 10, etag: 'c'.repeat(32), chunks: 1 },
          { size: 20, etag: 'd'.repeat(32), chunks: 1 },
        ],
      }),
    );
    assert.throws(() => encodeObjectRecord({ ...base, chunks: [chunk(10), chunk(20)] }), /chunk size/);
    assert.throws(
      () =>
        encodeObjectRecord({
          ...base,
          chunks: [chunk(10), chunk(20)],
          parts: [{ size: 30, etag: 'c'.repeat(32), chunks: 1 }],
        }),
      /part 1/,
    );
    assert.throws(
      () =>
        encodeObjectRecord({
          ...base,
          chunks: [chunk(10), chunk(20)],
          parts: [
            { size: 10, etag: 'c'.repeat(32), chunks: 1 },
            { size: 20, etag: 'd'.repeat(32), chunks: 2 },
          ],
        }),
      /more chunks/,
    );
    assert.throws(
      () =>
        encodeObjectRecord({
          ...base,
          chunks: [chunk(49)],
          size: 49,
          parts: [{ size: 49, etag: 'c'.repeat(32), chunks: 1 }],
        }),
      /more than 48/,
    );
  });

  it('addresses a manifest chunk’s shards under its part’s data id; garbage refs carry it', () => {
    const parts = [
      part(
        1,
        [
          { length: 48, k: 2, m: 1, epoch: 0, nodes: ['1', '2', '3'] },
          { length: 2, k: 2, m: 1, epoch: 0, nodes: ['2', '3', '4'] },
        ],
        50,
      ),
      part(4, [{ length: 5, k: 2, m: 1, epoch: 0, nodes: ['3', '4', '5'] }], 5),
    ];
    const record = manifestRecord(hex(7), { meta: { contentType: 'x', userMetadata: {} } }, parts, 'e-2', 0);
    assert.deepEqual(record.parts, [
      { size: 50, etag: 'a'.repeat(32), chunks: 2 },
      { size: 5, etag: 'a'.repeat(32), chunks: 1 },
    ]);
    assert.deepEqual(shardLocation(record, 1), { versionId: hex(101), chunkIndex: 1 });
    assert.deepEqual(shardLocation(record, 2), { versionId: hex(104), chunkIndex: 0 });
    const refs = shardsOf(record);
    assert.equal(refs.length, 9);
    assert.deepEqual(refs[8], { versionId: hex(104), chunkIndex: 0, shardIndex: 2, node: '5' });
    assert.deepEqual(partShards(parts[0] as PartRecord).slice(3), [
      { versionId: hex(101), chunkIndex: 1, shardIndex: 0, node: '2' },
      { versionId: hex(101), chunkIndex: 1, shardIndex: 1, node: '3' },
      { versionId: hex(101), chunkIndex: 1, shardIndex: 2, node: '4' },
    ]);
    // Many shards split into several garbage records, all readable.
    const many = Array.from({ length: 4500 }, (_, i) => ({
      versionId: hex(i),
      chunkIndex: 0,
      shardIndex: 0,
      node: '1',
    }));
    const ops = garbageOps(hex(1), many, 'delete');
    assert.equal(ops.length, 3);
    const total = ops.reduce(
      (n, op) => n + (op.kind === 'put' ? decodeGarbageRecord(op.value).shards.length : 0),
      0,
    );
    assert.equal(total, 4500);
    assert.throws(
      () =>
        manifestRecord(
          hex(7),
          { meta: { contentType: 'x', userMetadata: {} } },
          [parts[0] as PartRecord, { ...(parts[1] as PartRecord), segmentSize: 16 }],
          'e',
          0,
        ),
      { code: 'InvalidRequest' },
    );
  });

  it('keys uploads by bucket, key and a time-ordered upload id', () => {
    const early = newUploadId(1000);
    const late = newUploadId(2000);
    assert.ok(Buffer.compare(early, late) < 0);
    const stored = uploadKey('bkt', 'dir/ké\u0000y', late);
    assert.deepEqual(uploadKeyParts('bkt', stored), { key: 'dir/ké\u0000y', uploadId: late.toString('hex') });
    assert.ok(Buffer.compare(uploadKey('bkt', 'a', late), uploadKey('bkt', 'ab', early)) < 0);
    assert.equal(partKey(early, 258).subarray(16).toString('hex'), '00000102');
    assert.throws(() => uploadKeyParts('other', stored));
  });
});
