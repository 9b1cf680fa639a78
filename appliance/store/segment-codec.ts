/** Per-segment encoding: optional LZ4 (kept only where it saves space) and CRC32C of the logical bytes. Pure. */
import { compressSync, uncompressSync } from 'lz4-napi';
import { crc32c } from '../../shared/checksum/index.ts';
import type { SegmentEntry } from './record-codec.ts';

export type Compression = 'lz4' | 'none';

export interface EncodedSegment {
  stored: Buffer;
  entry: SegmentEntry;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Prepares one segment for storage. The returned `stored` may alias `data` when it is kept uncompressed. */
export function encodeSegment(data: Uint8Array, compression: Compression): EncodedSegment {
  const logical = asBuffer(data);
  const crc = crc32c(logical);
  if (compression === 'lz4' && logical.byteLength > 0) {
    const packed = compressSync(logical);
    if (packed.byteLength < logical.byteLength) {
      return {
        stored: packed,
        entry: { logicalLength: logical.byteLength, storedLength: packed.byteLength, crc, compressed: true },
      };
    }
  }
  return {
    stored: logical,
    entry: { logicalLength: logical.byteLength, storedLength: logical.byteLength, crc, compressed: false },
  };
}

/**
 * An uncompressed segment whose CRC32C is not computed yet (`entry.crc` is 0 until `fillSegmentCrc`): lets a
 * commit compute the CRCs of a large shard while its bytes are being written. The returned `stored` aliases
 * `data`.
 */
export function segmentWithoutCrc(data: Uint8Array): EncodedSegment {
  const logical = asBuffer(data);
  return {
    stored: logical,
    entry: { logicalLength: logical.byteLength, storedLength: logical.byteLength, crc: 0, compressed: false },
  };
}

/** Sets the CRC32C of a segment made by `segmentWithoutCrc`. */
export function fillSegmentCrc(segment: EncodedSegment): void {
  segment.entry.crc = crc32c(segment.stored);
}

/** Result of checking one stored segment: its logical bytes, or why it is corrupt. */
export type DecodedSegment = { ok: true; data: Buffer } | { ok: false; reason: string };

/** Decompresses (if needed) and verifies one segment against its table entry. Never throws on bad bytes. */
export function decodeSegment(stored: Uint8Array, entry: SegmentEntry): DecodedSegment {
  const bytes = asBuffer(stored);
  if (bytes.byteLength !== entry.storedLength) {
    return { ok: false, reason: `stored length ${bytes.byteLength} != ${entry.storedLength}` };
  }
  let data = bytes;
  if (entry.compressed) {
    // lz4-napi blocks start with the uncompressed size (u32 LE); check it before letting the decoder allocate.
    if (bytes.byteLength < 4 || bytes.readUInt32LE(0) !== entry.logicalLength) {
      return { ok: false, reason: 'LZ4 block size prefix does not match the logical length' };
    }
    try {
      data = uncompressSync(bytes);
    } catch (err) {
      return { ok: false, reason: `LZ4 decode failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (data.byteLength !== entry.logicalLength) {
      return {
        ok: false,
        reason: `decompressed to ${data.byteLength} bytes, expected ${entry.logicalLength}`,
      };
    }
  }
  if (crc32c(data) !== entry.crc) return { ok: false, reason: 'CRC32C mismatch' };
  return { ok: true, data };
}
