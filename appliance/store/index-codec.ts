/**
 * Key layout and value encodings of the LevelDB index (pure). One byte of prefix per table:
 *   's' + shardKey                      → LiveEntry: where the newest record of a shard lives (+ its segment table)
 *   't' + shardKey                      → TombstoneEntry: a tombstone still needed to shadow older records
 *   'x' + shardKey + volume + offset    → dead shard record of that key (keeps its tombstone needed)
 *   'v' + volume                        → VolumeInfo (JSON)
 *   'm' + name                          → store metadata (format, next sequence number)
 * Integers in keys are big-endian so LevelDB orders them numerically.
 */
import { RecordFormatError } from './errors.ts';
import { SHARD_KEY_BYTES } from './shard-key.ts';
import { SEGMENT_ENTRY_BYTES, decodeSegmentTable, encodeSegmentTable } from './record-codec.ts';
import type { SegmentEntry } from './record-codec.ts';
import { crc32c } from '../../shared/checksum/index.ts';

export const INDEX_FORMAT = 1;

const P_LIVE = 0x73; // 's'
const P_TOMB = 0x74; // 't'
const P_DEAD = 0x78; // 'x'
const P_VOLUME = 0x76; // 'v'
const P_META = 0x6d; // 'm'

export interface RecordLocation {
  volume: number;
  offset: number;
  length: number;
  seq: number;
}

export interface LiveEntry extends RecordLocation {
  rsData: number;
  rsParity: number;
  segments: SegmentEntry[];
}

export type VolumeState = 'active' | 'sealed' | 'retired';

export interface VolumeInfo {
  id: number;
  state: VolumeState;
  /** Durable end of the volume: bytes past it were never acknowledged and are cut off on open. */
  committedBytes: number;
  liveBytes: number;
  deadBytes: number;
  liveShards: number;
}

function prefixed(prefix: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + body.byteLength);
  out[0] = prefix;
  out.set(body, 1);
  return out;
}

export const liveKey = (shardKey: Uint8Array): Buffer => prefixed(P_LIVE, shardKey);
export const tombKey = (shardKey: Uint8Array): Buffer => prefixed(P_TOMB, shardKey);
export const metaKey = (name: string): Buffer => prefixed(P_META, Buffer.from(name, 'utf8'));

export function volumeKey(volume: number): Buffer {
  const out = Buffer.allocUnsafe(5);
  out[0] = P_VOLUME;
  out.writeUInt32BE(volume, 1);
  return out;
}

export function deadKey(shardKey: Uint8Array, volume: number, offset: number): Buffer {
  const out = Buffer.allocUnsafe(1 + SHARD_KEY_BYTES + 4 + 8);
  out[0] = P_DEAD;
  out.set(shardKey, 1);
  out.writeUInt32BE(volume, 1 + SHARD_KEY_BYTES);
  out.writeBigUInt64BE(BigInt(offset), 5 + SHARD_KEY_BYTES);
  return out;
}

export function parseDeadKey(key: Uint8Array): { shardKey: Buffer; volume: number; offset: number } {
  const buf = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (buf.byteLength !== 1 + SHARD_KEY_BYTES + 12 || buf[0] !== P_DEAD)
    throw new RecordFormatError('not a dead-record key');
  return {
    shardKey: Buffer.from(buf.subarray(1, 1 + SHARD_KEY_BYTES)),
    volume: buf.readUInt32BE(1 + SHARD_KEY_BYTES),
    offset: Number(buf.readBigUInt64BE(5 + SHARD_KEY_BYTES)),
  };
}

/** Range bounds [gte, lt) covering every key of one table (or one shard key's dead records). */
export function tableRange(prefix: 'live' | 'tomb' | 'volume' | 'meta'): { gte: Buffer; lt: Buffer } {
  const p = { live: P_LIVE, tomb: P_TOMB, volume: P_VOLUME, meta: P_META }[prefix];
  return { gte: Buffer.from([p]), lt: Buffer.from([p + 1]) };
}

export function deadRange(shardKey: Uint8Array): { gte: Buffer; lt: Buffer } {
  const gte = prefixed(P_DEAD, shardKey);
  const lt = Buffer.concat([gte, Buffer.alloc(12, 0xff), Buffer.from([0xff])]);
  return { gte, lt };
}

const LOCATION_BYTES = 4 + 8 + 4 + 8;

function writeLocation(out: Buffer, loc: RecordLocation): void {
  out.writeUInt32LE(loc.volume, 0);
  out.writeBigUInt64LE(BigInt(loc.offset), 4);
  out.writeUInt32LE(loc.length, 12);
  out.writeBigUInt64LE(BigInt(loc.seq), 16);
}

function readLocation(buf: Buffer): RecordLocation {
  return {
    volume: buf.readUInt32LE(0),
    offset: Number(buf.readBigUInt64LE(4)),
    length: buf.readUInt32LE(12),
    seq: Number(buf.readBigUInt64LE(16)),
  };
}

/** LiveEntry value: location, RS scheme, segment count, segment table, CRC32C of all of it. */
export function encodeLiveEntry(entry: LiveEntry): Buffer {
  const table = encodeSegmentTable(entry.segments);
  const out = Buffer.alloc(LOCATION_BYTES + 2 + 4 + table.byteLength + 4);
  writeLocation(out, entry);
  out.writeUInt8(entry.rsData, LOCATION_BYTES);
  out.writeUInt8(entry.rsParity, LOCATION_BYTES + 1);
  out.writeUInt32LE(entry.segments.length, LOCATION_BYTES + 2);
  table.copy(out, LOCATION_BYTES + 6);
  out.writeUInt32LE(crc32c(out.subarray(0, out.byteLength - 4)), out.byteLength - 4);
  return out;
}

export function decodeLiveEntry(value: Uint8Array): LiveEntry {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.byteLength < LOCATION_BYTES + 10) throw new RecordFormatError('index entry too short');
  if (crc32c(buf.subarray(0, buf.byteLength - 4)) !== buf.readUInt32LE(buf.byteLength - 4)) {
    throw new RecordFormatError('index entry CRC mismatch');
  }
  const count = buf.readUInt32LE(LOCATION_BYTES + 2);
  if (buf.byteLength !== LOCATION_BYTES + 10 + count * SEGMENT_ENTRY_BYTES) {
    throw new RecordFormatError('index entry length does not match its segment count');
  }
  const tableBytes = buf.subarray(LOCATION_BYTES + 6, buf.byteLength - 4);
  let payloadLength = 0;
  for (let i = 0; i < count; i++) payloadLength += tableBytes.readUInt32LE(i * SEGMENT_ENTRY_BYTES + 4);
  const segments = decodeSegmentTable(tableBytes, {
    segmentCount: count,
    payloadLength,
    segmentTableCrc: crc32c(tableBytes),
  });
  return {
    ...readLocation(buf),
    rsData: buf.readUInt8(LOCATION_BYTES),
    rsParity: buf.readUInt8(LOCATION_BYTES + 1),
    segments,
  };
}

export function encodeLocation(loc: RecordLocation): Buffer {
  const out = Buffer.alloc(LOCATION_BYTES);
  writeLocation(out, loc);
  return out;
}

export function decodeLocation(value: Uint8Array): RecordLocation {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.byteLength !== LOCATION_BYTES) throw new RecordFormatError('location entry has the wrong length');
  return readLocation(buf);
}

export function encodeVolumeInfo(info: VolumeInfo): Buffer {
  return Buffer.from(JSON.stringify(info), 'utf8');
}

export function decodeVolumeInfo(value: Uint8Array): VolumeInfo {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value).toString('utf8'));
  } catch {
    throw new RecordFormatError('volume info is not JSON');
  }
  const v = parsed as Partial<VolumeInfo>;
  const nums = [v.id, v.committedBytes, v.liveBytes, v.deadBytes, v.liveShards];
  if (!nums.every((n) => Number.isSafeInteger(n) && (n as number) >= 0))
    throw new RecordFormatError('bad volume info');
  if (v.state !== 'active' && v.state !== 'sealed' && v.state !== 'retired') {
    throw new RecordFormatError('bad volume state');
  }
  return v as VolumeInfo;
}

export function encodeU64(n: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(n));
  return out;
}

export function decodeU64(value: Uint8Array): number {
  if (value.byteLength !== 8) throw new RecordFormatError('u64 value has the wrong length');
  return Number(Buffer.from(value.buffer, value.byteOffset, 8).readBigUInt64LE(0));
}
