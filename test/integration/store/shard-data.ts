/**
 * Deterministic shard contents derived from the key, so a verifier can check any shard it finds. The chunk
 * index picks the size class: 0 = small shards (< 200 000 bytes, LZ4 paths), 1 = large ones (< 2 MiB, the
 * early write-back and deferred-CRC paths of big commits).
 */
import { createCipheriv } from 'node:crypto';
import type { ShardKey } from '../../../appliance/store/index.ts';

export const SMALL_MAX_BYTES = 200_000;
export const LARGE_MAX_BYTES = 2 * 1024 * 1024;

export function maxShardBytes(key: ShardKey): number {
  return key.chunkIndex === 1 ? LARGE_MAX_BYTES : SMALL_MAX_BYTES;
}

export function shardSize(key: ShardKey): number {
  const v = Buffer.from(key.versionId);
  return v.readUInt32LE(0) % maxShardBytes(key);
}

export function shardData(key: ShardKey): Buffer {
  const size = shardSize(key);
  // AES-128-CTR keyed by the version id: a fast deterministic keystream.
  const cipher = createCipheriv('aes-128-ctr', Buffer.from(key.versionId), Buffer.alloc(16));
  const out = cipher.update(Buffer.alloc(size));
  // Half of the shards compress well, so LZ4 paths are exercised too.
  if (key.versionId[4]! % 2 === 0) for (let i = 0; i < size; i += 3) out[i] = 0x20;
  return out;
}

export function segmentsOf(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.byteLength; at += 65536)
    out.push(data.subarray(at, Math.min(at + 65536, data.byteLength)));
  return out;
}
