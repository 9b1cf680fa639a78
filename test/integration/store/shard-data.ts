/** Deterministic shard contents derived from the key, so a verifier can check any shard it finds. */
import { createHash } from 'node:crypto';
import type { ShardKey } from '../../../appliance/store/index.ts';

export function shardSize(key: ShardKey, maxBytes: number): number {
  const v = Buffer.from(key.versionId);
  return v.readUInt32LE(0) % maxBytes;
}

export function shardData(key: ShardKey, maxBytes: number): Buffer {
  const size = shardSize(key, maxBytes);
  const out = Buffer.allocUnsafe(size);
  let block = Buffer.from(key.versionId);
  for (let at = 0; at < size; at += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, at, 0, Math.min(32, size - at));
  }
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
