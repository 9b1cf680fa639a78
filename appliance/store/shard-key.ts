import { InvalidShardKeyError } from './errors.ts';

/** Identifies one shard: shard `shardIndex` of chunk `chunkIndex` of object version `versionId`. */
export interface ShardKey {
  versionId: Uint8Array;
  chunkIndex: number;
  shardIndex: number;
}

export const VERSION_ID_BYTES = 16;
/** Encoded key: version id, chunk index (u32 big-endian, so keys sort by chunk), shard index (u8). */
export const SHARD_KEY_BYTES = VERSION_ID_BYTES + 4 + 1;

export function validateShardKey(key: ShardKey): void {
  if (typeof key !== 'object' || key === null) throw new InvalidShardKeyError('not an object');
  if (!(key.versionId instanceof Uint8Array) || key.versionId.byteLength !== VERSION_ID_BYTES) {
    throw new InvalidShardKeyError(`versionId must be ${VERSION_ID_BYTES} bytes`);
  }
  if (!Number.isInteger(key.chunkIndex) || key.chunkIndex < 0 || key.chunkIndex > 0xffffffff) {
    throw new InvalidShardKeyError(`chunkIndex ${String(key.chunkIndex)} is not a u32`);
  }
  if (!Number.isInteger(key.shardIndex) || key.shardIndex < 0 || key.shardIndex > 0xff) {
    throw new InvalidShardKeyError(`shardIndex ${String(key.shardIndex)} is not a u8`);
  }
}

export function encodeShardKey(key: ShardKey): Buffer {
  validateShardKey(key);
  const out = Buffer.allocUnsafe(SHARD_KEY_BYTES);
  out.set(key.versionId, 0);
  out.writeUInt32BE(key.chunkIndex, VERSION_ID_BYTES);
  out.writeUInt8(key.shardIndex, VERSION_ID_BYTES + 4);
  return out;
}

export function decodeShardKey(bytes: Uint8Array): ShardKey {
  if (bytes.byteLength !== SHARD_KEY_BYTES)
    throw new InvalidShardKeyError(`encoded key is ${bytes.byteLength} bytes`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    versionId: Uint8Array.from(buf.subarray(0, VERSION_ID_BYTES)),
    chunkIndex: buf.readUInt32BE(VERSION_ID_BYTES),
    shardIndex: buf.readUInt8(VERSION_ID_BYTES + 4),
  };
}

/** Human-readable form used in error messages and logs: `<hex version>/<chunk>/<shard>`. */
export function formatShardKey(key: ShardKey): string {
  return `${Buffer.from(key.versionId).toString('hex')}/${key.chunkIndex}/${key.shardIndex}`;
}

export function formatEncodedKey(bytes: Uint8Array): string {
  return formatShardKey(decodeShardKey(bytes));
}
