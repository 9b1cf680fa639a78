import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32c as nodeRsCrc32c } from '@node-rs/crc32';

type Crc32cFn = (data: Buffer, seed: number) => number;

/**
 * The fastest CRC32C that loads here. `npm run bench:checksum` measured sse4_crc32 (SSE4.2
 * instruction) at about twice @node-rs/crc32 on 64 KiB segments on x86-64; elsewhere, or if its
 * native build is missing, @node-rs/crc32 (SIMD, prebuilt for many platforms) is used.
 */
function pickCrc32c(): { name: string; fn: Crc32cFn } {
  try {
    const sse4 = createRequire(import.meta.url)('sse4_crc32') as {
      hardware_support?: boolean;
      sse42_crc?: Crc32cFn;
    };
    if (sse4.hardware_support === true && typeof sse4.sse42_crc === 'function') {
      const fn = sse4.sse42_crc;
      if (fn(Buffer.from('123456789'), 0) >>> 0 === 0xe3069283) return { name: 'sse4_crc32', fn };
    }
  } catch {
    // not built for this platform: fall through to the portable implementation
  }
  return { name: '@node-rs/crc32', fn: nodeRsCrc32c };
}

const implementation = pickCrc32c();

/** Which package computes CRC32C in this process (for logs and benchmarks). */
export const crc32cImplementation: string = implementation.name;

/** CRC32C (Castagnoli) of `data`; pass the previous result as `seed` to continue over several buffers. */
export function crc32c(data: Uint8Array, seed = 0): number {
  return implementation.fn(Buffer.from(data.buffer, data.byteOffset, data.byteLength), seed >>> 0) >>> 0;
}

/** MD5 of the whole input, as used for S3 ETags. */
export function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** Hex MD5 of `data`, the form an S3 ETag carries (without quotes). */
export function md5Hex(data: Uint8Array): string {
  return md5(data).toString('hex');
}
