// Multipart uploads of the distributed backend (DESIGN §3). Each part is written ONCE, erasure-coded,
// under a data id of its own (like a PUT's version id) and recorded in `pd.parts`. Completion writes
// the object record as a manifest of the parts' chunks (chunk.data points at the part's shards) in one
// s3db batch: no data is copied. Every shard that stops being referenced gets a garbage record in the
// same batch that drops the reference: a part uploaded again (last writer wins), parts left out of the
// completion, an aborted upload's parts, a superseded object.
//
// Part commits touch the upload record (put of the same bytes), so completion and abort — which
// require the upload record's version they read — never miss a part committed while they ran.
import { S3Error, InternalError, NoSuchBucket, NoSuchUpload, BadDigest } from '../../errors.ts';
import type {
  CompleteMultipartUploadInput,
  CreateMultipartUploadInput,
  ListMultipartUploadsInput,
  ListMultipartUploadsResult,
  ListPartsInput,
  ListPartsResult,
  MultipartBackend,
  MultipartUploadInfo,
  PartInfo,
  PutResult,
  UploadPartInput,
} from '../types.ts';
import type { BatchOp, S3dbClient } from '../../../shared/s3db-client/index.ts';
import {
  TABLES,
  bucketKey,
  garbageKey,
  newUploadId,
  newVersionId,
  objectKey,
  partKey,
  pastPrefix,
  repairKey,
  uploadKey,
} from '../../../shared/metadata/keys.ts';
import {
  decodeObjectRecord,
  decodePartRecord,
  decodeUploadRecord,
  encodeGarbageRecord,
  encodeObjectRecord,
  encodePartRecord,
  encodeRepairRecord,
  encodeUploadRecord,
  metadataOf,
  shardsOf,
} from '../../../shared/metadata/records.ts';
import type {
  ChunkRecord,
  GarbageRecord,
  ObjectRecord,
  PartRecord,
  ShardRef,
  UploadRecord,
} from '../../../shared/metadata/records.ts';
import { planCompletion } from '../../s3/multipart-complete.ts';
import { pageUploads } from '../../s3/multipart-uploads-page.ts';
import type { UploadSeek } from '../../s3/multipart-uploads-page.ts';
import type { DataPathContext } from './context.ts';
import { EMPTY_MD5, writeObject } from './object-writer.ts';
import type { AttemptedChunks } from './object-writer.ts';

const COMMIT_ATTEMPTS = 16;
/** s3db takes at most 1000 operations per batch; completion keeps room for its own few. */
const MAX_BATCH_OPS = 1000;
/** Shard references per garbage record (a record stays a few hundred KB at most). */
const SHARDS_PER_GARBAGE_RECORD = 2000;
const PAST_EVERY_UPLOAD_ID = Buffer.alloc(16, 0xff);

export interface DistributedMultipartDeps {
  /** Read lazily: the backend builds this object before its own fields are set. */
  db(): S3dbClient;
  /** The context a new write uses (placement ring, RS scheme, geometry). */
  writeContext(): Promise<DataPathContext>;
  /** Throws NoSuchBucket. */
  requireBucket(bucket: string): Promise<void>;
}

interface ReadUpload {
  record: UploadRecord;
  value: Uint8Array;
  version: number;
  id: Buffer;
  key: Buffer;
}

const backoff = (attempt: number): Promise<void> =>
  new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));

function toUploadInfo(record: UploadRecord): MultipartUploadInfo {
  return {
    bucket: record.bucket,
    key: record.key,
    uploadId: record.uploadId,
    initiated: new Date(record.initiated),
    owner: record.owner,
    metadata: record.meta,
  };
}

function toPartInfo(part: PartRecord): PartInfo {
  return {
    partNumber: part.partNumber,
    size: part.size,
    etag: `"${part.etag}"`,
    lastModified: new Date(part.lastModified),
  };
}

/** Every shard of a part (stored under the part's data id). */
export function partShards(part: Pick<PartRecord, 'dataId' | 'chunks'>): ShardRef[] {
  return part.chunks.flatMap((chunk, chunkIndex) =>
    chunk.nodes.map((node, shardIndex) => ({ versionId: part.dataId, chunkIndex, shardIndex, node })),
  );
}

/** Garbage records (as batch puts) for these shards, split so no record grows too large. */
export function garbageOps(ownerId: string, shards: ShardRef[], reason: GarbageRecord['reason']): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let i = 0; i < shards.length; i += SHARDS_PER_GARBAGE_RECORD) {
    const record: GarbageRecord = {
      v: 1,
      versionId: ownerId,
      reason,
      created: Date.now(),
      notBefore: 0,
      attempts: 0,
      shards: shards.slice(i, i + SHARDS_PER_GARBAGE_RECORD),
    };
    ops.push({
      kind: 'put',
      table: TABLES.garbage,
      key: garbageKey(Buffer.from(ownerId, 'hex')),
      value: encodeGarbageRecord(record),
    });
  }
  return ops;
}

/**
 * The manifest record of a completed upload: the parts' chunks in order, each pointing at the part's
 * shards (data id, chunk index within the part). Pure.
 */
export function manifestRecord(
  versionId: string,
  upload: Pick<UploadRecord, 'meta' | 'tags'>,
  parts: readonly PartRecord[],
  etag: string,
  now: number,
): ObjectRecord {
  const first = parts[0];
  if (first === undefined) throw new Error('a manifest needs at least one part');
  // Chunks may differ in RS scheme (and so in chunk size) but never in segment size.
  for (const part of parts)
    if (part.segmentSize !== first.segmentSize)
      throw new S3Error(
        'InvalidRequest',
        `Part ${part.partNumber} was stored with another segment size (${part.segmentSize}) than part ${first.partNumber} (${first.segmentSize}); upload it again.`,
        400,
      );
  const chunks: ChunkRecord[] = parts.flatMap((part) =>
    part.chunks.map((chunk, chunkIndex) => ({ ...chunk, data: { versionId: part.dataId, chunkIndex } })),
  );
  return {
    v: 1,
    versionId,
    size: parts.reduce((n, p) => n + p.size, 0),
    etag,
    lastModified: now,
    meta: metadataOf(upload.meta),
    segmentSize: first.segmentSize,
    chunkSize: Math.max(...parts.map((p) => p.chunkSize)),
    chunks,
    parts: parts.map((p) => ({ size: p.size, etag: p.etag, chunks: p.chunks.length })),
    ...(upload.tags === undefined || upload.tags.length === 0 ? {} : { tags: upload.tags }),
  };
}

export class DistributedMultipart implements MultipartBackend {
  constructor(private readonly deps: DistributedMultipartDeps) {}

  private get db(): S3dbClient {
    return this.deps.db();
  }

  private async readUpload(bucket: string, key: string, uploadId: string): Promise<ReadUpload> {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw NoSuchUpload(uploadId);
    const id = Buffer.from(uploadId, 'hex');
    const recordKey = uploadKey(bucket, key, id);
    const found = await this.db.get(TABLES.uploads, recordKey);
    if (found === undefined) {
      await this.deps.requireBucket(bucket);
      throw NoSuchUpload(uploadId);
    }
    return {
      record: decodeUploadRecord(found.value),
      value: found.value,
      version: found.version,
      id,
      key: recordKey,
    };
  }

  private async readParts(id: Buffer): Promise<{ part: PartRecord; key: Uint8Array }[]> {
    const out: { part: PartRecord; key: Uint8Array }[] = [];
    for await (const item of this.db.scanAll(TABLES.parts, { prefix: id, limit: 1000 }))
      out.push({ part: decodePartRecord(item.value), key: item.key });
    return out;
  }

  /** Whether the bucket has uploads in progress (DeleteBucket refuses then: their parts hold shards). */
  async hasUploads(bucket: string): Promise<boolean> {
    const page = await this.db.scan(TABLES.uploads, { prefix: objectKey(bucket, ''), limit: 1 });
    return page.items.length > 0;
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<MultipartUploadInfo> {
    const id = newUploadId();
    const record: UploadRecord = {
      v: 1,
      uploadId: id.toString('hex'),
      bucket: input.bucket,
      key: input.key,
      initiated: Date.now(),
      owner: input.owner,
      meta: metadataOf(input.metadata),
      ...(input.tags === undefined || input.tags.length === 0 ? {} : { tags: input.tags }),
    };
    const result = await this.db.batch(
      [{ kind: 'exists', table: TABLES.buckets, key: bucketKey(input.bucket) }],
      [
        {
          kind: 'put',
          table: TABLES.uploads,
          key: uploadKey(input.bucket, input.key, id),
          value: encodeUploadRecord(record),
        },
      ],
    );
    if (!result.ok) throw NoSuchBucket(input.bucket);
    return toUploadInfo(record);
  }

  async uploadPart(input: UploadPartInput): Promise<PartInfo> {
    const { bucket, key, uploadId, partNumber } = input;
    const upload = await this.readUpload(bucket, key, uploadId);
    const ctx = await this.deps.writeContext();
    const dataId = newVersionId();
    const dataHex = dataId.toString('hex');
    const attempted: AttemptedChunks = [];
    let committed = false;
    try {
      const written = await writeObject(
        ctx,
        {
          bucket,
          // Placement per part: the parts of one object spread over the ring like separate objects.
          key: `${key}\u0000${dataHex}`,
          versionId: dataId,
          body: input.body,
          ...(input.expectedSize === undefined ? {} : { expectedSize: input.expectedSize }),
        },
        attempted,
      );
      const md5 = written.size === 0 ? EMPTY_MD5 : written.md5;
      if (input.expectedMd5 !== undefined && !md5.equals(input.expectedMd5)) throw BadDigest();
      if (input.beforeCommit !== undefined) await input.beforeCommit();
      const part: PartRecord = {
        v: 1,
        uploadId,
        partNumber,
        dataId: dataHex,
        size: written.size,
        etag: md5.toString('hex'),
        lastModified: Date.now(),
        segmentSize: ctx.geometry.segmentSize,
        chunkSize: ctx.geometry.chunkSize,
        chunks: written.chunks,
      };
      const repairs: BatchOp[] = written.repairs.map((r) => ({
        kind: 'put',
        table: TABLES.repair,
        key: repairKey(dataId, r.chunkIndex),
        value: encodeRepairRecord({
          v: 1,
          bucket,
          key,
          versionId: dataHex,
          chunkIndex: r.chunkIndex,
          shards: r.shards,
          reason: 'write-failed',
          created: Date.now(),
        }),
      }));
      const recordKey = partKey(upload.id, partNumber);
      for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
        const current = await this.db.get(TABLES.parts, recordKey, { stale: attempt === 0 });
        const ops: BatchOp[] = [
          { kind: 'put', table: TABLES.parts, key: recordKey, value: encodePartRecord(part) },
          { kind: 'put', table: TABLES.uploads, key: upload.key, value: upload.value },
          ...repairs,
        ];
        if (current !== undefined) {
          const old = decodePartRecord(current.value);
          ops.push(...garbageOps(old.dataId, partShards(old), 'overwrite'));
        }
        const result = await this.db.batch(
          [
            { kind: 'exists', table: TABLES.uploads, key: upload.key },
            { kind: 'versionEquals', table: TABLES.parts, key: recordKey, version: current?.version ?? 0 },
          ],
          ops,
        );
        if (result.ok) {
          committed = true;
          return toPartInfo(part);
        }
        if (result.failed === 0) throw NoSuchUpload(uploadId);
        await backoff(attempt);
      }
      throw new S3Error('SlowDown', `Too many concurrent uploads of part ${partNumber}; please retry.`, 503);
    } finally {
      if (!committed && attempted.length > 0) await this.recordFailedPart(dataHex, attempted);
    }
  }

  private async recordFailedPart(dataHex: string, attempted: AttemptedChunks): Promise<void> {
    const shards = attempted.flatMap(({ chunkIndex, nodes }) =>
      nodes.map((node, shardIndex) => ({ chunkIndex, shardIndex, node })),
    );
    const [op] = garbageOps(dataHex, shards, 'failed-put');
    if (op === undefined || op.kind !== 'put') return;
    try {
      await this.db.put(op.table, op.key, op.value);
    } catch {
      // s3db unreachable: the shards stay orphaned until a scrub finds them (docs/multipart.md).
    }
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<PutResult> {
    const { bucket, key, uploadId } = input;
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const upload = await this.readUpload(bucket, key, uploadId);
      const stored = await this.readParts(upload.id);
      const byNumber = new Map(
        stored.map(({ part }) => [part.partNumber, { ...part, md5: part.etag, record: part }]),
      );
      const plan = planCompletion(input.parts, byNumber);
      const versionId = newVersionId().toString('hex');
      const record = manifestRecord(
        versionId,
        upload.record,
        plan.parts.map((p) => p.record),
        plan.etag,
        Date.now(),
      );
      const recordKey = objectKey(bucket, key);
      const current = await this.db.get(TABLES.objects, recordKey, { stale: attempt === 0 });
      const ops: BatchOp[] = [
        { kind: 'put', table: TABLES.objects, key: recordKey, value: encodeObjectRecord(record) },
        { kind: 'delete', table: TABLES.uploads, key: upload.key },
        ...garbageOps(
          uploadId,
          plan.unused.flatMap((p) => partShards(p.record)),
          'delete',
        ),
      ];
      if (current !== undefined) {
        const old = decodeObjectRecord(current.value);
        if (old.chunks.length > 0) ops.push(...garbageOps(old.versionId, shardsOf(old), 'overwrite'));
      }
      const partKeys = stored.map((s) => s.key);
      const inBatch = Math.max(0, MAX_BATCH_OPS - ops.length);
      for (const partRecordKey of partKeys.slice(0, inBatch))
        ops.push({ kind: 'delete', table: TABLES.parts, key: partRecordKey });
      const result = await this.db.batch(
        [
          { kind: 'exists', table: TABLES.buckets, key: bucketKey(bucket) },
          { kind: 'versionEquals', table: TABLES.objects, key: recordKey, version: current?.version ?? 0 },
          { kind: 'versionEquals', table: TABLES.uploads, key: upload.key, version: upload.version },
        ],
        ops,
      );
      if (result.ok) {
        // Leftover part records own no shards any more (the object or a garbage record does): removing
        // them is tidying, and its failure must not turn a committed completion into an error.
        await this.deleteKeys(TABLES.parts, partKeys.slice(inBatch)).catch(() => undefined);
        return {
          etag: `"${record.etag}"`,
          versionId,
          size: record.size,
          lastModified: new Date(record.lastModified),
        };
      }
      if (result.failed === 0) throw NoSuchBucket(bucket);
      await backoff(attempt);
    }
    throw new S3Error('SlowDown', `Too many concurrent changes to ${key}; please retry.`, 503);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const upload = await this.readUpload(bucket, key, uploadId);
      const stored = await this.readParts(upload.id);
      const ops: BatchOp[] = [
        { kind: 'delete', table: TABLES.uploads, key: upload.key },
        ...garbageOps(
          uploadId,
          stored.flatMap(({ part }) => partShards(part)),
          'delete',
        ),
      ];
      const partKeys = stored.map((s) => s.key);
      const inBatch = Math.max(0, MAX_BATCH_OPS - ops.length);
      for (const partRecordKey of partKeys.slice(0, inBatch))
        ops.push({ kind: 'delete', table: TABLES.parts, key: partRecordKey });
      const result = await this.db.batch(
        [{ kind: 'versionEquals', table: TABLES.uploads, key: upload.key, version: upload.version }],
        ops,
      );
      if (result.ok) {
        await this.deleteKeys(TABLES.parts, partKeys.slice(inBatch)).catch(() => undefined);
        return;
      }
      await backoff(attempt);
    }
    throw new S3Error('SlowDown', `Too many concurrent changes to upload ${uploadId}; please retry.`, 503);
  }

  private async deleteKeys(table: string, keys: readonly Uint8Array[]): Promise<void> {
    for (let i = 0; i < keys.length; i += MAX_BATCH_OPS) {
      const ops: BatchOp[] = keys.slice(i, i + MAX_BATCH_OPS).map((k) => ({ kind: 'delete', table, key: k }));
      const result = await this.db.batch([], ops).catch((error: unknown) => {
        throw InternalError(error);
      });
      if (!result.ok)
        throw InternalError(new Error(`deleting ${ops.length} part records failed: ${result.reason}`));
    }
  }

  async listParts(input: ListPartsInput): Promise<ListPartsResult> {
    const upload = await this.readUpload(input.bucket, input.key, input.uploadId);
    const result: ListPartsResult = { upload: toUploadInfo(upload.record), parts: [], isTruncated: false };
    if (input.maxParts <= 0) return result;
    const marker = Math.min(input.partNumberMarker, 10_000);
    const page = await this.db.scan(TABLES.parts, {
      prefix: upload.id,
      ...(marker > 0 ? { startAfter: partKey(upload.id, marker) } : {}),
      limit: input.maxParts + 1,
    });
    const parts = page.items.map((item) => decodePartRecord(item.value));
    result.parts = parts.slice(0, input.maxParts).map(toPartInfo);
    result.isTruncated = parts.length > input.maxParts;
    const last = result.parts[result.parts.length - 1];
    if (result.isTruncated && last !== undefined) result.nextPartNumberMarker = last.partNumber;
    return result;
  }

  async listMultipartUploads(input: ListMultipartUploadsInput): Promise<ListMultipartUploadsResult> {
    await this.deps.requireBucket(input.bucket);
    const { bucket } = input;
    const limit = Math.min(1000, input.maxUploads + 1);
    const startAfter = (seek: UploadSeek): Uint8Array | undefined => {
      switch (seek.kind) {
        case 'start':
          return undefined;
        case 'after':
          return /^[0-9a-f]{32}$/.test(seek.uploadId)
            ? uploadKey(bucket, seek.key, Buffer.from(seek.uploadId, 'hex'))
            : Buffer.concat([objectKey(bucket, seek.key), Buffer.from([0])]);
        case 'pastKey':
          return uploadKey(bucket, seek.key, PAST_EVERY_UPLOAD_ID);
        case 'pastPrefix':
          return pastPrefix(bucket, seek.prefix);
      }
    };
    const db = this.db;
    const source = (seek: UploadSeek, prefix: string): AsyncIterable<MultipartUploadInfo> =>
      (async function* () {
        let after = startAfter(seek);
        for (let pages = 0; pages < 1_000_000; pages++) {
          const page = await db.scan(TABLES.uploads, {
            prefix: objectKey(bucket, prefix),
            ...(after === undefined ? {} : { startAfter: after }),
            limit,
          });
          for (const item of page.items) {
            yield toUploadInfo(decodeUploadRecord(item.value));
            after = item.key;
          }
          if (!page.truncated || page.items.length === 0) return;
        }
      })();
    const page = await pageUploads(source, input);
    const result: ListMultipartUploadsResult = {
      uploads: page.uploads,
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
    };
    if (page.nextKeyMarker !== undefined) result.nextKeyMarker = page.nextKeyMarker;
    if (page.nextUploadIdMarker !== undefined) result.nextUploadIdMarker = page.nextUploadIdMarker;
    return result;
  }
}
