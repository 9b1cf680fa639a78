/**
 * The on-disk record format of volume files (pure: no I/O). See docs/store.md for the byte layout.
 *
 * A volume file = volume header, then records appended back to back. A record = fixed header, segment table
 * (one entry per segment), payload (the stored bytes of every segment, in order). Tombstones are records of
 * kind TOMBSTONE with no segments.
 */
import { crc32c } from '../../shared/checksum/index.ts';
import { RecordFormatError } from './errors.ts';
import { VERSION_ID_BYTES } from './shard-key.ts';

export const RECORD_MAGIC = 0x52534450; // 'PDSR' as little-endian bytes
export const RECORD_FORMAT_VERSION = 1;
export const RECORD_HEADER_BYTES = 64;
export const SEGMENT_ENTRY_BYTES = 16;
export const MAX_SEGMENT_BYTES = 64 * 1024;
/** Bounds the segment table a header may announce (4 GiB of payload at most anyway). */
export const MAX_SEGMENTS = 65536;
export const MAX_PAYLOAD_BYTES = 0xffffffff;

export const VOLUME_MAGIC = Buffer.from('PDSVOLUM', 'latin1');
export const VOLUME_FORMAT_VERSION = 1;
export const VOLUME_HEADER_BYTES = 32;

export const RecordKind = { SHARD: 1, TOMBSTONE: 2 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

export const RECORD_FLAG_COMPRESSED = 1;
export const SEGMENT_FLAG_LZ4 = 1;

export interface RecordHeader {
  kind: RecordKind;
  flags: number;
  /** Store-wide write sequence: the newest record of a key wins when the index is rebuilt. */
  seq: number;
  versionId: Uint8Array;
  chunkIndex: number;
  shardIndex: number;
  rsData: number;
  rsParity: number;
  segmentCount: number;
  payloadLength: number;
  segmentTableCrc: number;
}

export interface SegmentEntry {
  logicalLength: number;
  storedLength: number;
  /** CRC32C of the logical (uncompressed) bytes. */
  crc: number;
  compressed: boolean;
}

export function recordLength(header: Pick<RecordHeader, 'segmentCount' | 'payloadLength'>): number {
  return RECORD_HEADER_BYTES + header.segmentCount * SEGMENT_ENTRY_BYTES + header.payloadLength;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkU(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RecordFormatError(`${what} ${String(value)} out of range`);
  }
}

export function encodeRecordHeader(header: RecordHeader): Buffer {
  checkU(header.seq, Number.MAX_SAFE_INTEGER, 'seq');
  checkU(header.flags, 0xffff, 'flags');
  checkU(header.chunkIndex, 0xffffffff, 'chunkIndex');
  checkU(header.shardIndex, 0xff, 'shardIndex');
  checkU(header.rsData, 0xff, 'rsData');
  checkU(header.rsParity, 0xff, 'rsParity');
  checkU(header.segmentCount, MAX_SEGMENTS, 'segmentCount');
  checkU(header.payloadLength, MAX_PAYLOAD_BYTES, 'payloadLength');
  checkU(header.segmentTableCrc, 0xffffffff, 'segmentTableCrc');
  if (header.versionId.byteLength !== VERSION_ID_BYTES)
    throw new RecordFormatError('versionId must be 16 bytes');
  if (header.kind !== RecordKind.SHARD && header.kind !== RecordKind.TOMBSTONE) {
    throw new RecordFormatError(`unknown record kind ${String(header.kind)}`);
  }
  const out = Buffer.alloc(RECORD_HEADER_BYTES);
  out.writeUInt32LE(RECORD_MAGIC, 0);
  out.writeUInt8(RECORD_FORMAT_VERSION, 4);
  out.writeUInt8(header.kind, 5);
  out.writeUInt16LE(header.flags, 6);
  out.writeBigUInt64LE(BigInt(header.seq), 8);
  out.set(header.versionId, 16);
  out.writeUInt32LE(header.chunkIndex, 32);
  out.writeUInt8(header.shardIndex, 36);
  out.writeUInt8(header.rsData, 37);
  out.writeUInt8(header.rsParity, 38);
  out.writeUInt32LE(header.segmentCount, 40);
  out.writeUInt32LE(header.payloadLength, 44);
  out.writeUInt32LE(header.segmentTableCrc, 48);
  out.writeUInt32LE(crc32c(out.subarray(0, 60)), 60);
  return out;
}

/** Decodes and validates a record header; throws RecordFormatError (truncated=true if `bytes` is too short). */
export function decodeRecordHeader(bytes: Uint8Array): RecordHeader {
  if (bytes.byteLength < RECORD_HEADER_BYTES) {
    throw new RecordFormatError(
      `record header needs ${RECORD_HEADER_BYTES} bytes, got ${bytes.byteLength}`,
      true,
    );
  }
  const buf = asBuffer(bytes);
  if (buf.readUInt32LE(0) !== RECORD_MAGIC) throw new RecordFormatError('bad record magic');
  if (buf.readUInt32LE(60) !== crc32c(buf.subarray(0, 60)))
    throw new RecordFormatError('record header CRC mismatch');
  const version = buf.readUInt8(4);
  if (version !== RECORD_FORMAT_VERSION)
    throw new RecordFormatError(`unsupported record format version ${version}`);
  const kind = buf.readUInt8(5);
  if (kind !== RecordKind.SHARD && kind !== RecordKind.TOMBSTONE) {
    throw new RecordFormatError(`unknown record kind ${kind}`);
  }
  const seq = buf.readBigUInt64LE(8);
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new RecordFormatError('record seq out of range');
  const header: RecordHeader = {
    kind,
    flags: buf.readUInt16LE(6),
    seq: Number(seq),
    versionId: Uint8Array.from(buf.subarray(16, 32)),
    chunkIndex: buf.readUInt32LE(32),
    shardIndex: buf.readUInt8(36),
    rsData: buf.readUInt8(37),
    rsParity: buf.readUInt8(38),
    segmentCount: buf.readUInt32LE(40),
    payloadLength: buf.readUInt32LE(44),
    segmentTableCrc: buf.readUInt32LE(48),
  };
  if (buf.readUInt8(39) !== 0 || buf.readUInt32LE(52) !== 0 || buf.readUInt32LE(56) !== 0) {
    throw new RecordFormatError('reserved header bytes are not zero');
  }
  if (header.segmentCount > MAX_SEGMENTS)
    throw new RecordFormatError(`segment count ${header.segmentCount} too large`);
  if (header.payloadLength > header.segmentCount * MAX_SEGMENT_BYTES) {
    throw new RecordFormatError('payload longer than its segments allow');
  }
  if (kind === RecordKind.TOMBSTONE && (header.segmentCount !== 0 || header.payloadLength !== 0)) {
    throw new RecordFormatError('tombstone with payload');
  }
  return header;
}

export function encodeSegmentTable(entries: readonly SegmentEntry[]): Buffer {
  const out = Buffer.alloc(entries.length * SEGMENT_ENTRY_BYTES);
  entries.forEach((entry, i) => {
    checkU(entry.logicalLength, MAX_SEGMENT_BYTES, 'segment logicalLength');
    checkU(entry.storedLength, MAX_SEGMENT_BYTES, 'segment storedLength');
    checkU(entry.crc, 0xffffffff, 'segment crc');
    if (!entry.compressed && entry.storedLength !== entry.logicalLength) {
      throw new RecordFormatError('uncompressed segment with stored length != logical length');
    }
    const at = i * SEGMENT_ENTRY_BYTES;
    out.writeUInt32LE(entry.logicalLength, at);
    out.writeUInt32LE(entry.storedLength, at + 4);
    out.writeUInt32LE(entry.crc, at + 8);
    out.writeUInt8(entry.compressed ? SEGMENT_FLAG_LZ4 : 0, at + 12);
  });
  return out;
}

/**
 * Decodes a segment table of `count` entries and checks it against the header's CRC and payload length.
 * Throws RecordFormatError (truncated=true if `bytes` is too short).
 */
export function decodeSegmentTable(
  bytes: Uint8Array,
  header: Pick<RecordHeader, 'segmentCount' | 'payloadLength' | 'segmentTableCrc'>,
): SegmentEntry[] {
  const need = header.segmentCount * SEGMENT_ENTRY_BYTES;
  if (bytes.byteLength < need) {
    throw new RecordFormatError(`segment table needs ${need} bytes, got ${bytes.byteLength}`, true);
  }
  const buf = asBuffer(bytes).subarray(0, need);
  if (crc32c(buf) !== header.segmentTableCrc) throw new RecordFormatError('segment table CRC mismatch');
  const entries: SegmentEntry[] = [];
  let payload = 0;
  for (let i = 0; i < header.segmentCount; i++) {
    const at = i * SEGMENT_ENTRY_BYTES;
    const flags = buf.readUInt8(at + 12);
    const entry: SegmentEntry = {
      logicalLength: buf.readUInt32LE(at),
      storedLength: buf.readUInt32LE(at + 4),
      crc: buf.readUInt32LE(at + 8),
      compressed: (flags & SEGMENT_FLAG_LZ4) !== 0,
    };
    if (
      (flags & ~SEGMENT_FLAG_LZ4) !== 0 ||
      buf.readUInt8(at + 13) !== 0 ||
      buf.readUInt16LE(at + 14) !== 0
    ) {
      throw new RecordFormatError(`segment ${i}: unknown flags`);
    }
    if (entry.logicalLength > MAX_SEGMENT_BYTES || entry.storedLength > MAX_SEGMENT_BYTES) {
      throw new RecordFormatError(`segment ${i}: length over ${MAX_SEGMENT_BYTES}`);
    }
    if (!entry.compressed && entry.storedLength !== entry.logicalLength) {
      throw new RecordFormatError(`segment ${i}: stored length differs from logical length`);
    }
    payload += entry.storedLength;
    entries.push(entry);
  }
  if (payload !== header.payloadLength)
    throw new RecordFormatError('segment table does not add up to payload length');
  return entries;
}

/** Offsets of each segment's stored bytes relative to the start of the payload. */
export function segmentOffsets(entries: readonly SegmentEntry[]): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const entry of entries) {
    offsets.push(at);
    at += entry.storedLength;
  }
  return offsets;
}

export interface VolumeHeader {
  volumeId: number;
  createdAtMs: number;
}

export function encodeVolumeHeader(header: VolumeHeader): Buffer {
  checkU(header.volumeId, 0xffffffff, 'volumeId');
  checkU(header.createdAtMs, Number.MAX_SAFE_INTEGER, 'createdAtMs');
  const out = Buffer.alloc(VOLUME_HEADER_BYTES);
  VOLUME_MAGIC.copy(out, 0);
  out.writeUInt32LE(VOLUME_FORMAT_VERSION, 8);
  out.writeUInt32LE(header.volumeId, 12);
  out.writeBigUInt64LE(BigInt(header.createdAtMs), 16);
  out.writeUInt32LE(crc32c(out.subarray(0, 28)), 28);
  return out;
}

export function decodeVolumeHeader(bytes: Uint8Array): VolumeHeader {
  if (bytes.byteLength < VOLUME_HEADER_BYTES) {
    throw new RecordFormatError(
      `volume header needs ${VOLUME_HEADER_BYTES} bytes, got ${bytes.byteLength}`,
      true,
    );
  }
  const buf = asBuffer(bytes);
  if (!buf.subarray(0, 8).equals(VOLUME_MAGIC)) throw new RecordFormatError('bad volume magic');
  if (buf.readUInt32LE(28) !== crc32c(buf.subarray(0, 28)))
    throw new RecordFormatError('volume header CRC mismatch');
  const version = buf.readUInt32LE(8);
  if (version !== VOLUME_FORMAT_VERSION)
    throw new RecordFormatError(`unsupported volume format version ${version}`);
  if (buf.readUInt32LE(24) !== 0) throw new RecordFormatError('reserved volume header bytes are not zero');
  const created = buf.readBigUInt64LE(16);
  if (created > BigInt(Number.MAX_SAFE_INTEGER))
    throw new RecordFormatError('volume creation time out of range');
  return { volumeId: buf.readUInt32LE(12), createdAtMs: Number(created) };
}
