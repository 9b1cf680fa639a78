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
});

const bucketSchema = z.object({
  v: z.literal(RECORD_FORMAT),
  owner: z.string(),
  created: count,
  region: z.string(),
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
  reason: z.enum(['overwrite', 'delete', 'failed-put']),
  created: count,
  /** Retry not before this time (ms); 0 = now. */
  notBefore: count,
  attempts: count,
  shards: z.array(shardRefSchema),
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
});

export type ChunkRecord = z.infer<typeof chunkSchema>;
export type ObjectRecord = z.infer<typeof objectSchema>;
export type BucketRecord = z.infer<typeof bucketSchema>;
export type ShardRef = z.infer<typeof shardRefSchema>;
export type GarbageRecord = z.infer<typeof garbageSchema>;
export type RepairRecord = z.infer<typeof repairSchema>;
export type StoredMetadata = z.infer<typeof metadataSchema>;

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

export const encodeObjectRecord = (r: ObjectRecord): Uint8Array => encode(checkObjectRecord(r));
export const decodeObjectRecord = (b: Uint8Array): ObjectRecord =>
  checkObjectRecord(decode(objectSchema, b, 'object'));
export const encodeBucketRecord = (r: BucketRecord): Uint8Array => encode(r);
export const decodeBucketRecord = (b: Uint8Array): BucketRecord => decode(bucketSchema, b, 'bucket');
export const encodeGarbageRecord = (r: GarbageRecord): Uint8Array => encode(r);
export const decodeGarbageRecord = (b: Uint8Array): GarbageRecord => decode(garbageSchema, b, 'garbage');
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
