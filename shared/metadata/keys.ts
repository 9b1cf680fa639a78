// Key layout of the distributed backend's s3db tables (pure).
//
//   buckets  utf8(bucket)                          → BucketRecord
//   objects  utf8(bucket) 0x00 utf8(key)           → ObjectRecord (the live version)
//   garbage  be64(created ms) versionId(16) rand(4) → GarbageRecord (shards to delete)
//   repair   versionId(16) be32(chunk) be64(ms)     → RepairRecord (shards to rebuild)
//   deleting utf8(bucket)                          → BucketRecord (+deletingSince) while DeleteBucket runs
//
// Bucket names never contain 0x00, so one bucket's objects are one contiguous range ordered by the
// key's UTF-8 bytes — S3's list order. 0xFF never occurs in UTF-8, so `prefix + 0xFF` is a bound
// past every key that starts with `prefix`: a delimiter listing skips a common prefix with one new scan.
import { randomBytes } from 'node:crypto';

export const TABLES = Object.freeze({
  buckets: 'pd.buckets',
  objects: 'pd.objects',
  garbage: 'pd.garbage',
  repair: 'pd.repair',
  uploads: 'pd.uploads',
  parts: 'pd.parts',
  /** Buckets a DeleteBucket is emptying-checking: utf8(bucket) → BucketRecord with deletingSince. */
  deleting: 'pd.deleting',
});

const SEPARATOR = 0x00;
const PAST_ANY_UTF8 = 0xff;

export function bucketKey(bucket: string): Buffer {
  return Buffer.from(bucket, 'utf8');
}

/** Key of `key` in `bucket` (also: the scan prefix of every key of the bucket that starts with `key`). */
export function objectKey(bucket: string, key: string): Buffer {
  const b = Buffer.from(bucket, 'utf8');
  const k = Buffer.from(key, 'utf8');
  const out = Buffer.allocUnsafe(b.length + 1 + k.length);
  b.copy(out, 0);
  out[b.length] = SEPARATOR;
  k.copy(out, b.length + 1);
  return out;
}

/** Exclusive scan bound that skips every key of `bucket` starting with `prefix`. */
export function pastPrefix(bucket: string, prefix: string): Buffer {
  const base = objectKey(bucket, prefix);
  const out = Buffer.allocUnsafe(base.length + 1);
  base.copy(out, 0);
  out[base.length] = PAST_ANY_UTF8;
  return out;
}

/** The object key part of a stored objects-table key of `bucket`. */
export function objectKeyName(bucket: string, stored: Uint8Array): string {
  const skip = Buffer.byteLength(bucket, 'utf8') + 1;
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.length < skip || bytes[skip - 1] !== SEPARATOR)
    throw new Error(`stored key ${bytes.toString('hex')} is not an object key of bucket ${bucket}`);
  return bytes.subarray(skip).toString('utf8');
}

export function garbageKey(versionId: Uint8Array, now = Date.now()): Buffer {
  const out = Buffer.allocUnsafe(8 + 16 + 4);
  out.writeBigUInt64BE(BigInt(now), 0);
  Buffer.from(versionId).copy(out, 8, 0, 16);
  randomBytes(4).copy(out, 24);
  return out;
}

export function repairKey(versionId: Uint8Array, chunkIndex: number, now = Date.now()): Buffer {
  const out = Buffer.allocUnsafe(16 + 4 + 8);
  Buffer.from(versionId).copy(out, 0, 0, 16);
  out.writeUInt32BE(chunkIndex, 16);
  out.writeBigUInt64BE(BigInt(now), 20);
  return out;
}

//   uploads  utf8(bucket) 0x00 utf8(key) 0x00 uploadId(16) → UploadRecord (multipart in progress)
//   parts    uploadId(16) be32(partNumber)                 → PartRecord
// An upload id is be48(ms) + 10 random bytes, so one key's uploads sort by initiation time (S3's order).

/** A new multipart upload id (16 bytes: be48 creation ms, then random). */
export function newUploadId(now = Date.now()): Buffer {
  const out = randomBytes(16);
  out.writeUIntBE(now, 0, 6);
  return out;
}

export function uploadKey(bucket: string, key: string, uploadId: Uint8Array): Buffer {
  const base = objectKey(bucket, key);
  const out = Buffer.allocUnsafe(base.length + 1 + 16);
  base.copy(out, 0);
  out[base.length] = SEPARATOR;
  Buffer.from(uploadId).copy(out, base.length + 1, 0, 16);
  return out;
}

/** The object key and upload id of a stored uploads-table key of `bucket`. */
export function uploadKeyParts(bucket: string, stored: Uint8Array): { key: string; uploadId: string } {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const skip = Buffer.byteLength(bucket, 'utf8') + 1;
  if (bytes.length < skip + 17 || bytes[skip - 1] !== SEPARATOR || bytes[bytes.length - 17] !== SEPARATOR)
    throw new Error(`stored key ${bytes.toString('hex')} is not an upload key of bucket ${bucket}`);
  return {
    key: bytes.subarray(skip, bytes.length - 17).toString('utf8'),
    uploadId: bytes.subarray(bytes.length - 16).toString('hex'),
  };
}

export function partKey(uploadId: Uint8Array, partNumber: number): Buffer {
  const out = Buffer.allocUnsafe(20);
  Buffer.from(uploadId).copy(out, 0, 0, 16);
  out.writeUInt32BE(partNumber, 16);
  return out;
}

/** A new random 128-bit version id. */
export function newVersionId(): Buffer {
  return randomBytes(16);
}
