import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ShardKey } from '../../../appliance/store/index.ts';

export async function tempDir(
  prefix = 'predastore-store-',
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export function randomKey(chunkIndex = 0, shardIndex = 0): ShardKey {
  return { versionId: randomBytes(16), chunkIndex, shardIndex };
}

/** Splits `data` into 64 KiB segments (the last may be shorter). */
export function toSegments(data: Uint8Array, size = 64 * 1024): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.byteLength; at += size)
    out.push(data.subarray(at, Math.min(at + size, data.byteLength)));
  return out;
}

/** Deterministic pseudo-random bytes; `compressible` mixes in runs so LZ4 has something to do. */
export function makeData(length: number, seed: number, compressible = false): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = compressible && (i >> 6) % 3 !== 0 ? 0x41 : x & 0xff;
  }
  return out;
}
