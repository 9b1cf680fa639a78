// Versioned codecs of the records the distributed backend keeps in s3db (pure). JSON with a format
// number `v`; decoding validates every field so a damaged or foreign record is a typed error, never
// a half-read object.
import { z } from 'zod';

export const RECORD_FORMAT = 1;

export class MetadataRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetadataRecordError';
  }
}

const hex32 = z.string().regex(/^[0-9a-f]{32}$/);
const count = z.number().int().nonnegative();

const chunkSchema = z.object({
  /** Object bytes in the chunk. */
  length: z.number().int().positive(),
  k: z.number().int().min(1).max(24),
  m: z.number().int().min(0).max(6),
  /** Ring epoch the placement was computed with. */
  epoch: count,
  /** Appliance id holding shard j, for j in 0..k+m-1. */
  nodes: z.array(z.string().min(1)).min(1),
  /**
   * Where the chunk's shards are stored when not under (object version id, chunk index): a multipart
   * part's data id and its chunk index within the part. Always read through shardLocation().
   */
  data: z.object({ versionId: hex32, chunkIndex: count }).optional(),
});

const metadataSchema = z.object({
  contentType: z.string(),
  userMetadata: z.record(z.string(), z.string()),
  contentEncoding: z.string().optional(),
  contentDisposition: z.string().optional(),
  contentLanguage: z.string().optional(),
  cacheControl: z.string().optional(),
  expires: z.string().optional(),
});

/** An object tag (S3 object tagging). */
const tagSchema = z.object({ key: z.string(), value: z.string() });

/** A whole-object checksum verified at PUT (x-amz-checksum-*), base64 as on the wire. */
const checksumSchema = z.object({
  algorithm: z.enum(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']),
  value: z.string().min(1),
  /** FULL_OBJECT (default) or COMPOSITE (checksum of part checksums, multipart). */
  type: z.enum(['FULL_OBJECT', 'COMPOSITE']).optional(),
});

/** One bucket CORS rule (PutBucketCors), already validated. */
const corsRuleSchema = z.object({
  id: z.string().optional(),
  allowedOrigins: z.array(z.string()).min(1),
  allowedMethods: z.array(z.string()).min(1),
  allowedHeaders: z.array(z.string()),
  exposeHeaders: z.array(z.string()),
  maxAgeSeconds: z.number().int().nonnegative().optional(),
});

const objectSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  versionId: hex32,
  size: count,
  /** MD5 hex, without quotes. */
  etag: z.string().regex(/^[0-9a-f]{32}(-\d+)?$/),
  lastModified: count,
  meta: metadataSchema,
  /** Geometry the chunks were cut with: segment size and chunk size (object bytes per full chunk). */
  segmentSize: z.number().int().positive(),
  chunkSize: z.number().int().positive(),
  chunks: z.array(chunkSchema),
  /**
   * Multipart objects (a manifest): the parts in order, each with its size, its MD5 hex and how many of
   * `chunks` it owns. Chunks then have varying lengths (each part is cut on its own); their shards live
   * under the part's data id (chunk.data). Absent for objects written by one PUT.
   */
  parts: z
    .array(z.object({ size: count, etag: z.string().regex(/^[0-9a-f]{32}$/), chunks: count }))
    .optional(),
  /** Object tags; absent in records written before tagging (= no tags). */
  tags: z.array(tagSchema).optional(),
  /** Checksum verified at PUT; absent = none stored. */
  checksum: checksumSchema.optional(),
  /**
   * The object's bytes (base64) when stored inline in this record instead of as shards (objects of
   * at most `[gateway] inline_max_bytes`); `chunks` is then empty. Absent in records written before.
   */
  inline: z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/)
    .optional(),
});

const bucketSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  owner: z.string(),
  created: count,
  region: z.string(),
  /** Bucket CORS configuration; absent = none. */
  cors: z.array(corsRuleSchema).optional(),
  /** Versioning state once set; absent = never versioned. Only Suspended is supported. */
  versioning: z.enum(['Suspended']).optional(),
  /** Only in the `deleting` table: when DeleteBucket marked the bucket (ms); see gateway/backend/distributed/bucket-deletion.ts. */
  deletingSince: count.optional(),
});

const shardRefSchema = z.object({
  /** Version id the shard is stored under, when not the garbage record's own (see ChunkRecord.data). */
  versionId: hex32.optional(),
  chunkIndex: count,
  shardIndex: count,
  node: z.string().min(1),
});

const garbageSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  versionId: hex32,
  /** 'rebalance': shards a rebalance, drain or RS migration moved away from (or copies it dropped). */
  reason: z.enum(['overwrite', 'delete', 'failed-put', 'rebalance']),
  created: count,
  /** Retry not before this time (ms); 0 = now. */
  notBefore: count,
  attempts: count,
  shards: z.array(shardRefSchema),
});

/** An in-progress multipart upload (table uploads). */
const uploadSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  uploadId: hex32,
  bucket: z.string(),
  key: z.string(),
  /** ms */
  initiated: count,
  /** Account id of the initiator. */
  owner: z.string(),
  meta: metadataSchema,
  /** x-amz-tagging of CreateMultipartUpload: the object's tags on completion. */
  tags: z.array(tagSchema).optional(),
});

/** One uploaded part (table parts): its own data id, under which its chunks' shards are stored. */
const partSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  uploadId: hex32,
  partNumber: z.number().int().min(1).max(10000),
  dataId: hex32,
  size: count,
  /** MD5 hex of the part, without quotes. */
  etag: z.string().regex(/^[0-9a-f]{32}$/),
  lastModified: count,
  segmentSize: z.number().int().positive(),
  chunkSize: z.number().int().positive(),
  chunks: z.array(chunkSchema),
});

const repairSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  bucket: z.string(),
  key: z.string(),
  versionId: hex32,
  chunkIndex: count,
  /** Shard indexes of the chunk that are missing, corrupt or were not written. */
  shards: z.array(count).min(1),
  reason: z.enum(['write-failed', 'read-failed', 'corrupt']),
  created: count,
  // Written by the appliances' healer (appliance/maintenance/healer.ts); absent in a new task.
  /** Appliance working on the task; with notBefore in the future it is a lease. */
  owner: z.string().optional(),
  /** Not before this time (ms): a lease while owner is set, else the retry backoff. */
  notBefore: count.optional(),
  attempts: count.optional(),
  error: z.string().optional(),
  /** Appliances the last attempt found down: once they answer again the task is due at once. */
  waitFor: z.array(z.string()).optional(),
});

export type ChunkRecord = z.infer<typeof chunkSchema>;
export type ObjectRecord = z.infer<typeof objectSchema>;
export type BucketRecord = z.infer<typeof bucketSchema>;
export type ShardRef = z.infer<typeof shardRefSchema>;
export type GarbageRecord = z.infer<typeof garbageSchema>;
export type RepairRecord = z.infer<typeof repairSchema>;
export type StoredMetadata = z.infer<typeof metadataSchema>;
export type UploadRecord = z.infer<typeof uploadSchema>;
export type PartRecord = z.infer<typeof partSchema>;
export type StoredTag = z.infer<typeof tagSchema>;
export type StoredChecksum = z.infer<typeof checksumSchema>;
export type StoredCorsRule = z.infer<typeof corsRuleSchema>;

function encode(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function decode<T>(schema: z.ZodType<T>, bytes: Uint8Array, what: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new MetadataRecordError(`${what} record is not valid JSON`, { cause: error });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new MetadataRecordError(
      `${what} record is invalid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`,
    );
  }
  return result.data;
}

export function checkObjectRecord(record: ObjectRecord): ObjectRecord {
  if (record.inline !== undefined) return checkInlineRecord(record, record.inline);
  if (record.parts !== undefined) return checkManifestRecord(record, record.parts);
  let total = 0;
  record.chunks.forEach((chunk, i) => {
    if (chunk.nodes.length !== chunk.k + chunk.m)
      throw new MetadataRecordError(
        `chunk ${i} places ${chunk.nodes.length} shards, RS(${chunk.k},${chunk.m}) has ${chunk.k + chunk.m}`,
      );
    const last = i === record.chunks.length - 1;
    if (!last && chunk.length !== record.chunkSize)
      throw new MetadataRecordError(
        `chunk ${i} has ${chunk.length} bytes, not the chunk size ${record.chunkSize}`,
      );
    if (chunk.length > record.chunkSize)
      throw new MetadataRecordError(`chunk ${i} has ${chunk.length} bytes, more than ${record.chunkSize}`);
    total += chunk.length;
  });
  if (total !== record.size)
    throw new MetadataRecordError(`chunks hold ${total} bytes but the object has ${record.size}`);
  return record;
}

/** Bytes a base64 string (padded, as Buffer.toString('base64') writes it) decodes to. */
export function base64DecodedLength(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** An object stored inline: no chunks, no parts, and exactly `size` bytes of data. */
function checkInlineRecord(record: ObjectRecord, inline: string): ObjectRecord {
  if (record.chunks.length > 0 || record.parts !== undefined)
    throw new MetadataRecordError('an inline object record cannot also have chunks or parts');
  if (inline.length % 4 !== 0 || base64DecodedLength(inline) !== record.size)
    throw new MetadataRecordError(`inline data does not hold the object's ${record.size} bytes`);
  return record;
}

/** A multipart object: chunks of any length up to chunkSize, grouped by part; the sums must agree. */
function checkManifestRecord(record: ObjectRecord, parts: NonNullable<ObjectRecord['parts']>): ObjectRecord {
  let chunkIndex = 0;
  let total = 0;
  parts.forEach((part, p) => {
    let partBytes = 0;
    for (let c = 0; c < part.chunks; c++, chunkIndex++) {
      const chunk = record.chunks[chunkIndex];
      if (chunk === undefined)
        throw new MetadataRecordError(`part ${p + 1} claims more chunks than the record holds`);
      if (chunk.nodes.length !== chunk.k + chunk.m)
        throw new MetadataRecordError(
          `chunk ${chunkIndex} places ${chunk.nodes.length} shards, RS(${chunk.k},${chunk.m}) has ${chunk.k + chunk.m}`,
        );
      if (chunk.length > record.chunkSize)
        throw new MetadataRecordError(
          `chunk ${chunkIndex} has ${chunk.length} bytes, more than ${record.chunkSize}`,
        );
      partBytes += chunk.length;
    }
    if (partBytes !== part.size)
      throw new MetadataRecordError(`part ${p + 1} has ${part.size} bytes but its chunks hold ${partBytes}`);
    total += partBytes;
  });
  if (chunkIndex !== record.chunks.length)
    throw new MetadataRecordError(
      `the parts own ${chunkIndex} chunks, the record has ${record.chunks.length}`,
    );
  if (total !== record.size)
    throw new MetadataRecordError(`parts hold ${total} bytes but the object has ${record.size}`);
  return record;
}

export const encodeObjectRecord = (r: ObjectRecord): Uint8Array => encode(checkObjectRecord(r));
export const decodeObjectRecord = (b: Uint8Array): ObjectRecord =>
  checkObjectRecord(decode(objectSchema, b, 'object'));
export const encodeBucketRecord = (r: BucketRecord): Uint8Array => encode(r);
export const decodeBucketRecord = (b: Uint8Array): BucketRecord => decode(bucketSchema, b, 'bucket');
export const encodeGarbageRecord = (r: GarbageRecord): Uint8Array => encode(r);
export const decodeGarbageRecord = (b: Uint8Array): GarbageRecord => decode(garbageSchema, b, 'garbage');
export const encodeUploadRecord = (r: UploadRecord): Uint8Array => encode(r);
export const decodeUploadRecord = (b: Uint8Array): UploadRecord => decode(uploadSchema, b, 'upload');
export const encodePartRecord = (r: PartRecord): Uint8Array => encode(r);
export const decodePartRecord = (b: Uint8Array): PartRecord => decode(partSchema, b, 'part');
export const encodeRepairRecord = (r: RepairRecord): Uint8Array => encode(r);
export const decodeRepairRecord = (b: Uint8Array): RepairRecord => decode(repairSchema, b, 'repair');

/** The (version id, chunk index) the shards of chunk `chunkIndex` are stored under on the appliances. */
export function shardLocation(
  record: Pick<ObjectRecord, 'versionId' | 'chunks'>,
  chunkIndex: number,
): { versionId: string; chunkIndex: number } {
  const chunk = record.chunks[chunkIndex];
  if (chunk === undefined) throw new MetadataRecordError(`chunk ${chunkIndex} is not in the record`);
  return chunk.data ?? { versionId: record.versionId, chunkIndex };
}

/** Every shard of an object version, for its garbage record. */
export function shardsOf(record: Pick<ObjectRecord, 'versionId' | 'chunks'>): ShardRef[] {
  return record.chunks.flatMap((chunk, index) => {
    const location = shardLocation(record, index);
    const stored = location.versionId === record.versionId ? {} : { versionId: location.versionId };
    return chunk.nodes.map((node, shardIndex) => ({
      ...stored,
      chunkIndex: location.chunkIndex,
      shardIndex,
      node,
    }));
  });
}

export function metadataOf(meta: StoredMetadata): StoredMetadata {
  const out: StoredMetadata = { contentType: meta.contentType, userMetadata: { ...meta.userMetadata } };
  for (const name of [
    'contentEncoding',
    'contentDisposition',
    'contentLanguage',
    'cacheControl',
    'expires',
  ] as const) {
    const value = meta[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
