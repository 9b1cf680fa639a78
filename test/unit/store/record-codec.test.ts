import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  RECORD_HEADER_BYTES,
  RecordKind,
  decodeRecordHeader,
  decodeSegmentTable,
  decodeVolumeHeader,
  encodeRecordHeader,
  encodeSegmentTable,
  encodeVolumeHeader,
  recordLength,
} from '../../../appliance/store/record-codec.ts';
import type { RecordHeader, SegmentEntry } from '../../../appliance/store/record-codec.ts';
import { decodeSegment, encodeSegment } from '../../../appliance/store/segment-codec.ts';
import { RecordFormatError } from '../../../appliance/store/errors.ts';
import { decodeLiveEntry, encodeLiveEntry } from '../../../appliance/store/index-codec.ts';
import { crc32c } from '../../../shared/checksum/index.ts';
import { makeData } from './helpers.ts';

const segmentEntry = fc
  .record({
    logicalLength: fc.integer({ min: 0, max: 65536 }),
    crc: fc.integer({ min: 0, max: 0xffffffff }),
    compressed: fc.boolean(),
    ratio: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ logicalLength, crc, compressed, ratio }): SegmentEntry => ({
    logicalLength,
    crc,
    compressed,
    storedLength: compressed ? Math.floor(logicalLength * ratio) : logicalLength,
  }));

const recordArb = fc.array(segmentEntry, { maxLength: 40 }).chain((segments) =>
  fc
    .record({
      kind: fc.constantFrom(RecordKind.SHARD, RecordKind.TOMBSTONE),
      flags: fc.integer({ min: 0, max: 0xffff }),
      seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      versionId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      chunkIndex: fc.integer({ min: 0, max: 0xffffffff }),
      shardIndex: fc.integer({ min: 0, max: 255 }),
      rsData: fc.integer({ min: 0, max: 255 }),
      rsParity: fc.integer({ min: 0, max: 255 }),
    })
    .map((h) => {
      const segs = h.kind === RecordKind.TOMBSTONE ? [] : segments;
      const table = encodeSegmentTable(segs);
      const header: RecordHeader = {
        ...h,
        segmentCount: segs.length,
        payloadLength: segs.reduce((n, s) => n + s.storedLength, 0),
        segmentTableCrc: crc32c(table),
      };
      return { header, segs, table };
    }),
);

test('record header and segment table round-trip (property)', () => {
  fc.assert(
    fc.property(recordArb, ({ header, segs, table }) => {
      const bytes = encodeRecordHeader(header);
      assert.equal(bytes.byteLength, RECORD_HEADER_BYTES);
      const decoded = decodeRecordHeader(bytes);
      assert.deepEqual(
        { ...decoded, versionId: Buffer.from(decoded.versionId) },
        {
          ...header,
          versionId: Buffer.from(header.versionId),
        },
      );
      assert.deepEqual(decodeSegmentTable(table, decoded), segs);
      assert.equal(recordLength(decoded), RECORD_HEADER_BYTES + table.byteLength + decoded.payloadLength);
    }),
    { numRuns: 300 },
  );
});

test('any single flipped bit in a header or table is detected (property)', () => {
  fc.assert(
    fc.property(recordArb, fc.nat(), fc.integer({ min: 0, max: 7 }), ({ header, table }, at, bit) => {
      const bytes = Buffer.concat([encodeRecordHeader(header), table]);
      const pos = at % bytes.byteLength;
      bytes[pos] = bytes[pos]! ^ (1 << bit);
      assert.throws(() => {
        const h = decodeRecordHeader(bytes);
        decodeSegmentTable(bytes.subarray(RECORD_HEADER_BYTES), h);
      }, RecordFormatError);
    }),
    { numRuns: 300 },
  );
});

test('decoding random or truncated bytes only ever throws RecordFormatError (fuzz)', () => {
  const valid = fc
    .sample(recordArb, 20)
    .map(({ header, table }) => Buffer.concat([encodeRecordHeader(header), table]));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.byteLength + 1))),
        fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, n, v]) => {
          const c = Buffer.from(b);
          c[n % c.byteLength] = v;
          return c;
        }),
      ),
      (bytes) => {
        for (const decode of [
          () => {
            const h = decodeRecordHeader(bytes);
            decodeSegmentTable(bytes.subarray(RECORD_HEADER_BYTES), h);
          },
          () => decodeVolumeHeader(bytes),
          () => decodeLiveEntry(bytes),
        ]) {
          try {
            decode();
          } catch (err) {
            assert.ok(err instanceof RecordFormatError, `unexpected ${String(err)}`);
          }
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('a truncated header or table is reported as truncated (torn), garbage is not', () => {
  const table = encodeSegmentTable([{ logicalLength: 10, storedLength: 10, crc: 1, compressed: false }]);
  const header = encodeRecordHeader({
    kind: RecordKind.SHARD,
    flags: 0,
    seq: 5,
    versionId: new Uint8Array(16),
    chunkIndex: 1,
    shardIndex: 2,
    rsData: 2,
    rsParity: 1,
    segmentCount: 1,
    payloadLength: 10,
    segmentTableCrc: crc32c(table),
  });
  const short = (() => {
    try {
      decodeRecordHeader(header.subarray(0, 30));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(short instanceof RecordFormatError && short.truncated);
  const h = decodeRecordHeader(header);
  const tableShort = (() => {
    try {
      decodeSegmentTable(table.subarray(0, 8), h);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(tableShort instanceof RecordFormatError && tableShort.truncated);
  const garbage = (() => {
    try {
      decodeRecordHeader(Buffer.alloc(64, 7));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(garbage instanceof RecordFormatError && !garbage.truncated);
});

test('encode refuses values that do not fit the format', () => {
  const base: RecordHeader = {
    kind: RecordKind.SHARD,
    flags: 0,
    seq: 0,
    versionId: new Uint8Array(16),
    chunkIndex: 0,
    shardIndex: 0,
    rsData: 0,
    rsParity: 0,
    segmentCount: 0,
    payloadLength: 0,
    segmentTableCrc: 0,
  };
  assert.throws(() => encodeRecordHeader({ ...base, shardIndex: 256 }), RecordFormatError);
  assert.throws(() => encodeRecordHeader({ ...base, seq: -1 }), RecordFormatError);
  assert.throws(() => encodeRecordHeader({ ...base, versionId: new Uint8Array(3) }), RecordFormatError);
  assert.throws(
    () => encodeSegmentTable([{ logicalLength: 65537, storedLength: 65537, crc: 0, compressed: false }]),
    RecordFormatError,
  );
});

test('volume header round-trips and rejects damage', () => {
  const bytes = encodeVolumeHeader({ volumeId: 42, createdAtMs: 1_790_000_000_000 });
  assert.deepEqual(decodeVolumeHeader(bytes), { volumeId: 42, createdAtMs: 1_790_000_000_000 });
  bytes[13] = bytes[13]! ^ 1;
  assert.throws(() => decodeVolumeHeader(bytes), RecordFormatError);
});

test('segments: LZ4 kept only when smaller; decode verifies; damage is reported, never returned', () => {
  const compressible = makeData(65536, 1, true);
  const random = makeData(65536, 2);
  const packed = encodeSegment(compressible, 'lz4');
  assert.equal(packed.entry.compressed, true);
  assert.ok(packed.stored.byteLength < 65536);
  const raw = encodeSegment(random, 'lz4');
  assert.equal(raw.entry.compressed, false);
  assert.equal(encodeSegment(compressible, 'none').entry.compressed, false);
  for (const seg of [packed, raw]) {
    const ok = decodeSegment(seg.stored, seg.entry);
    assert.ok(ok.ok && ok.data.equals(seg === packed ? compressible : random));
    for (const pos of [0, 3, 4, 17, seg.stored.byteLength - 1]) {
      const bad = Buffer.from(seg.stored);
      bad[pos] = bad[pos]! ^ 0x10;
      assert.equal(decodeSegment(bad, seg.entry).ok, false, `flip at ${pos}`);
    }
    assert.equal(decodeSegment(seg.stored.subarray(1), seg.entry).ok, false);
  }
});

test('index live entries round-trip with their segment table', () => {
  const entry = {
    volume: 7,
    offset: 123456789,
    length: 4242,
    seq: 99,
    rsData: 3,
    rsParity: 2,
    segments: [
      { logicalLength: 65536, storedLength: 1000, crc: 5, compressed: true },
      { logicalLength: 10, storedLength: 10, crc: 6, compressed: false },
    ],
  };
  assert.deepEqual(decodeLiveEntry(encodeLiveEntry(entry)), entry);
});
