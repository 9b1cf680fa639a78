// Request ids (x-amz-request-id, x-amz-id-2) for every request, cut from a pooled block of random
// bytes: one randomFillSync per 256 requests instead of two per request.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 32 * 256;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

function take(bytes: number): Buffer {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + bytes);
  offset += bytes;
  return out;
}

/** 16 upper-case hex digits, like S3's request ids. */
export function newRequestId(): string {
  return take(8).toString('hex').toUpperCase();
}

/** 32 base64 characters standing in for S3's extended request id (x-amz-id-2). */
export function newHostId(): string {
  return take(24).toString('base64');
}
