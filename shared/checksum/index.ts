import { createHash } from 'node:crypto';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC32C (Castagnoli) of `data`; pass the previous result as `seed` to continue over several buffers. */
export function crc32c(data: Uint8Array, seed = 0): number {
  return nativeCrc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength), seed) >>> 0;
}

/** MD5 of the whole input, as used for S3 ETags. */
export function md5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** Hex MD5 of `data`, the form an S3 ETag carries (without quotes). */
export function md5Hex(data: Uint8Array): string {
  return md5(data).toString('hex');
}
