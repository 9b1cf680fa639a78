import { createHash } from 'node:crypto';

/** First 8 bytes of SHA-256(`input`), big-endian, as an unsigned 64-bit ring position (spec §8). */
export function hash64(input: string): bigint {
  return createHash('sha256').update(input, 'utf8').digest().readBigUInt64BE(0);
}

/** The string whose hash places a chunk: `bucket/key:chunkIndex` (spec §8). */
export function chunkPlacementKey(bucket: string, key: string, chunkIndex: number): string {
  return `${bucket}/${key}:${chunkIndex}`;
}

/** Ring position of one chunk of an object. */
export function chunkPosition(bucket: string, key: string, chunkIndex: number): bigint {
  return hash64(chunkPlacementKey(bucket, key, chunkIndex));
}
