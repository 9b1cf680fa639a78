// The gateway's distributed backend (DESIGN §3, §5): objects erasure-coded onto the appliances,
// metadata in s3db. Every PUT writes a new version id; ONE s3db batch commits the object record and
// the superseded version's garbage record; placement is recorded, so reads never consult the ring.
import { isDevMode } from '../../../shared/config/index.ts';
import type { ClusterConfig } from '../../../shared/config/index.ts';
import { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import { HashRing } from '../../../shared/ring/index.ts';
import { S3dbClient } from '../../../shared/s3db-client/index.ts';
import type { BatchOp, Precondition } from '../../../shared/s3db-client/index.ts';
import { ShardClient } from '../../../shared/shard-client/index.ts';
import type { ShardPeer } from '../../../shared/shard-client/index.ts';
import { ensureClusterCertificates, loadTlsIdentity } from '../../../shared/tls/index.ts';
import type { TlsIdentity } from '../../../shared/tls/index.ts';
import { createTransport } from '../../../shared/transport/index.ts';
import type { Transport } from '../../../shared/transport/index.ts';
import { MAX_CHUNK_SIZE, makeGeometry } from '../../../shared/datapath/index.ts';
import {
  BadDigest,
  BucketAlreadyExists,
  BucketAlreadyOwnedByYou,
  BucketNotEmpty,
  InternalError,
  NoSuchBucket,
  NoSuchKey,
  S3Error,
} from '../../errors.ts';
import type {
  Backend,
  BucketInfo,
  BucketSettings,
  GetObjectResult,
  ListObjectsInput,
  ListObjectsResult,
  ObjectInfo,
  PutObjectInput,
  PutResult,
  ObjectTag,
  RangeResolver,
} from '../types.ts';
import type { DataPathContext } from './context.ts';
import { withClusterRing } from './context.ts';
import { RingSource } from '../../../shared/cluster/index.ts';
import { startGarbageWorker } from './garbage-worker.ts';
import type { GarbageWorker, GarbageWorkerOptions } from './garbage-worker.ts';
import {
  TABLES,
  bucketKey,
  garbageKey,
  newVersionId,
  objectKey,
  repairKey,
} from '../../../shared/metadata/keys.ts';
import { listByScans } from './list-plan.ts';
import { DistributedMultipart } from './multipart.ts';
import { readObject } from './object-reader.ts';
import { DEFAULT_HEAP_GROWING_PERCENT, tuneHeapGrowth } from '../../../shared/datapath/heap-tuning.ts';
import type { ReadIssue } from './object-reader.ts';
import { EMPTY_MD5, writeObject } from './object-writer.ts';
import { DEFAULT_INLINE_MAX_BYTES, inlineBytes, readInline } from './inline.ts';
import { BucketCache, DEFAULT_BUCKET_CACHE_MS, sameIncarnation } from './bucket-cache.ts';
import type { CachedBucket } from './bucket-cache.ts';
import { bucketIsEmpty, finishDeletion, inspectMark, markDeleting } from './bucket-deletion.ts';
import type { DeletionDeps } from './bucket-deletion.ts';
import type { AttemptedChunks } from './object-writer.ts';
import {
  decodeBucketRecord,
  decodeGarbageRecord,
  decodeRepairRecord,
  decodeObjectRecord,
  encodeBucketRecord,
  encodeGarbageRecord,
  encodeObjectRecord,
  encodeRepairRecord,
  metadataOf,
  shardsOf,
} from '../../../shared/metadata/records.ts';
import type {
  BucketRecord,
  GarbageRecord,
  ObjectRecord,
  RepairRecord,
  ShardRef,
} from '../../../shared/metadata/records.ts';
import { formatHostPort } from '../../../shared/net/host-port.ts';

export { startGarbageWorker, retryDelay } from './garbage-worker.ts';
export type { GarbageWorker, GarbageWorkerOptions } from './garbage-worker.ts';
export { TABLES } from '../../../shared/metadata/keys.ts';

export interface DistributedBackendOptions {
  /** The gateway's cluster identity; default: `gateway` in `[tls] dir` (created there in dev mode). */
  tls?: TlsIdentity;
  transport?: Transport;
  /** Chunks being collected or written per PUT; at most `[gateway] max_chunks_in_flight`. Default 2. */
  maxChunksInFlight?: number;
  /** Tests shrink these; production keeps 64 KiB segments and 32 MiB chunks. */
  segmentSize?: number;
  maxChunkSize?: number;
  writeTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Slowest transfer rate a shard request is given time for (bytes/ms). Default 250 (250 KB/s). */
  minBytesPerMs?: number;
  /** s3db retry window per operation. Default 15 s. */
  dbRetryForMs?: number;
  /** Run the garbage worker inside the backend (closed with it). Default false: see startGarbageWorker. */
  garbageWorker?: boolean | GarbageWorkerOptions;
  /** Connections per appliance in the shard client. Default 2. */
  connectionsPerPeer?: number;
  /**
   * Objects of at most this many bytes are stored inline in their s3db record, not as shards.
   * Default `[gateway] inline_max_bytes`, else 4096; 0 = never (docs/perf.md).
   */
  inlineMaxBytes?: number;
  /** Stream shards segment by segment when the body size is declared. Default true (docs/perf.md). */
  streamShards?: boolean;
  /** How often the ring record (shared/cluster) is re-read for new writes. Default 5000 ms. */
  ringRefreshMs?: number;
  /**
   * How long object operations trust a bucket record read before (ownership check) instead of reading
   * s3db again. Default 1000 ms; 0 = read every time. Commits still check the record's version.
   */
  bucketCacheMs?: number;
  /** Wraps the clients the data path uses (metrics and request ids: shared/metrics instrument*). */
  instrument?: { shards?: (c: ShardClient) => ShardClient; db?: (c: S3dbClient) => S3dbClient };
  /**
   * V8 `--heap-growing-percent` set for the process (shared/datapath/heap-tuning.ts, docs/perf.md).
   * Default 200; 0 = V8's default. A flag given to node itself wins.
   */
  heapGrowingPercent?: number;
}

export interface DistributedBackend extends Backend {
  readonly kind: 'distributed';
  /** Starts the background garbage collector on this backend's clients (stopped by close()). */
  startGarbageWorker(options?: GarbageWorkerOptions): GarbageWorker;
  /** Repair tasks currently queued (for operators and tests; issue #9's healer drains them). */
  repairTasks(limit?: number): Promise<RepairRecord[]>;
  /** Garbage records currently queued. */
  garbageRecords(limit?: number): Promise<GarbageRecord[]>;
}

const COMMIT_ATTEMPTS = 16;
const SMALL_PUT_BYTES = 8 * 1024 * 1024;

export async function gatewayTlsIdentity(config: ClusterConfig): Promise<TlsIdentity> {
  if (!isDevMode(config)) return loadTlsIdentity(config.tls.dir, 'gateway');
  const certs = await ensureClusterCertificates(config.tls.dir, ['gateway']);
  const pair = certs.nodes['gateway'];
  if (pair === undefined) throw new Error(`no gateway certificate was made in ${config.tls.dir}`);
  return { caPem: certs.caPem, certPem: pair.certPem, keyPem: pair.keyPem };
}

export function peersOf(config: ClusterConfig): Map<string, ShardPeer> {
  return new Map(
    config.nodes.map((n) => [
      String(n.id),
      { host: n.advertiseHost, port: n.port, serverName: `node-${n.id}.predastore.internal` },
    ]),
  );
}

export async function createDistributedBackend(
  config: ClusterConfig,
  options: DistributedBackendOptions = {},
): Promise<DistributedBackend> {
  if (config.nodes.length === 0) throw new Error('the distributed backend needs [[nodes]] in the config');
  tuneHeapGrowth(options.heapGrowingPercent ?? DEFAULT_HEAP_GROWING_PERCENT);
  const tls = options.tls ?? (await gatewayTlsIdentity(config));
  const transport = options.transport ?? (await createTransport(config.transport.kind));
  const first = config.db[0];
  if (first === undefined) throw new Error('the config has no s3db node');
  const db = (options.instrument?.db ?? ((c: S3dbClient) => c))(
    new S3dbClient({
      nodes: config.db.map((d) => formatHostPort(d.advertiseHost, d.port)),
      credentials: { accessKeyId: first.accessKeyId, secretAccessKey: first.secretAccessKey },
      region: config.region,
      caPem: tls.caPem,
      retryForMs: options.dbRetryForMs ?? 15_000,
    }),
  );
  const shards = (options.instrument?.shards ?? ((c: ShardClient) => c))(
    new ShardClient({
      transport,
      tls,
      defaultTimeoutMs: options.writeTimeoutMs ?? 30_000,
      connectTimeoutMs: 3000,
      connectionsPerPeer: options.connectionsPerPeer ?? 2,
    }),
  );
  const scheme = { k: config.rs.data, m: config.rs.parity };
  const geometry = makeGeometry(scheme, {
    maxChunkSize: options.maxChunkSize ?? MAX_CHUNK_SIZE,
    ...(options.segmentSize === undefined ? {} : { segmentSize: options.segmentSize }),
  });
  const ctx: DataPathContext = {
    shards,
    ring: new HashRing({
      nodes: config.nodes.map((n) => String(n.id)),
      epoch: 0,
      vnodesPerNode: config.ring.vnodes,
    }),
    peers: peersOf(config),
    geometry,
    codec: new ReedSolomonCodec(scheme),
    maxChunksInFlight: Math.min(config.gateway.maxChunksInFlight, options.maxChunksInFlight ?? 2),
    writeTimeoutMs: options.writeTimeoutMs ?? 30_000,
    readTimeoutMs: options.readTimeoutMs ?? 5000,
    minBytesPerMs: options.minBytesPerMs ?? 250,
    inlineMaxBytes: options.inlineMaxBytes ?? config.gateway.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES,
    streamShards: options.streamShards ?? true,
  };
  const ringSource = new RingSource(db, config, {
    ...(options.ringRefreshMs === undefined ? {} : { refreshMs: options.ringRefreshMs }),
  });
  const maxChunkSize = options.maxChunkSize ?? MAX_CHUNK_SIZE;
  const backend = new DistributedBackendImpl(
    db,
    ctx,
    async () => withClusterRing(ctx, await ringSource.current(), maxChunkSize),
    new BucketCache(options.bucketCacheMs ?? DEFAULT_BUCKET_CACHE_MS),
  );
  if (options.garbageWorker !== undefined && options.garbageWorker !== false)
    backend.startGarbageWorker(options.garbageWorker === true ? {} : options.garbageWorker);
  return backend;
}

function toInfo(key: string, record: ObjectRecord): ObjectInfo {
  return {
    key,
    size: record.size,
    etag: `"${record.etag}"`,
    lastModified: new Date(record.lastModified),
    versionId: record.versionId,
    ...record.meta,
    ...(record.parts === undefined ? {} : { partSizes: record.parts.map((p) => p.size) }),
    ...(record.tags === undefined || record.tags.length === 0 ? {} : { tags: record.tags }),
    ...(record.checksum === undefined ? {} : { checksum: record.checksum }),
  };
}

function toBucket(name: string, value: Uint8Array): BucketInfo {
  const r = decodeBucketRecord(value);
  return {
    name,
    owner: r.owner,
    created: new Date(r.created),
    region: r.region,
    ...(r.cors === undefined ? {} : { cors: r.cors }),
    ...(r.versioning === undefined ? {} : { versioning: r.versioning }),
  };
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));
}

function garbageOf(versionId: string, shards: ShardRef[], reason: GarbageRecord['reason']): GarbageRecord {
  return { v: 1, versionId, reason, created: Date.now(), notBefore: 0, attempts: 0, shards };
}

class DistributedBackendImpl implements DistributedBackend {
  readonly kind = 'distributed' as const;
  private readonly workers = new Set<GarbageWorker>();
  /** Multipart uploads (multipart.ts): parts stored once, completion writes a manifest. */
  readonly multipart = new DistributedMultipart({
    db: () => this.db,
    writeContext: () => this.writeContext(),
    requireBucket: (bucket) => this.requireBucket(bucket),
  });
  private closed = false;
  private get deletion(): DeletionDeps {
    return { db: this.db, hasUploads: (b: string) => this.multipart.hasUploads(b) };
  }

  constructor(
    private readonly db: S3dbClient,
    private readonly ctx: DataPathContext,
    /** The context new writes use: placement ring and RS scheme from the ring record in s3db. */
    private readonly writeContext: () => Promise<DataPathContext> = async () => ctx,
    private readonly buckets: BucketCache = new BucketCache(),
  ) {}

  startGarbageWorker(options: GarbageWorkerOptions = {}): GarbageWorker {
    const worker = startGarbageWorker(
      { db: this.db, shards: this.ctx.shards, peers: this.ctx.peers },
      options,
    );
    this.workers.add(worker);
    return worker;
  }

  async repairTasks(limit = 1000): Promise<RepairRecord[]> {
    return (await this.db.scan(TABLES.repair, { limit })).items.map((i) => decodeRepairRecord(i.value));
  }

  async garbageRecords(limit = 1000): Promise<GarbageRecord[]> {
    return (await this.db.scan(TABLES.garbage, { limit })).items.map((i) => decodeGarbageRecord(i.value));
  }

  async ready(): Promise<void> {
    if (this.closed) throw new Error('distributed backend is closed');
    await this.db.leader();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.stop()));
    await this.ctx.shards.close();
    this.db.close();
  }

  // ---- buckets ---------------------------------------------------------------------------------

  async createBucket(name: string, owner: string, region: string, retried = false): Promise<BucketInfo> {
    const created = Date.now();
    const result = await this.db.batch(
      [
        { kind: 'absent', table: TABLES.buckets, key: bucketKey(name) },
        // Not while a DeleteBucket checks the name's old incarnation (bucket-deletion.ts).
        { kind: 'absent', table: TABLES.deleting, key: bucketKey(name) },
      ],
      [
        {
          kind: 'put',
          table: TABLES.buckets,
          key: bucketKey(name),
          value: encodeBucketRecord({ v: 1, owner, created, region }),
        },
      ],
    );
    if (!result.ok) {
      if (result.failed === 1) {
        // A deletion of the old incarnation is in progress (or was abandoned: settle it, retry once).
        if (retried || (await inspectMark(this.deletion, name)) === 'fresh')
          throw new S3Error(
            'OperationAborted',
            'A conflicting conditional operation is currently in progress against this resource. Please try again.',
            409,
          );
        return this.createBucket(name, owner, region, true);
      }
      const existing = await this.db.get(TABLES.buckets, bucketKey(name));
      if (existing !== undefined && toBucket(name, existing.value).owner === owner)
        throw BucketAlreadyOwnedByYou(name);
      throw BucketAlreadyExists(name);
    }
    const info = { name, owner, created: new Date(created), region };
    this.buckets.set(name, { info, version: result.version, at: Date.now() });
    return info;
  }

  /** `cached`: a record read in the last `bucketCacheMs` will do (object operations' ownership check). */
  async headBucket(name: string, options: { cached?: boolean } = {}): Promise<BucketInfo> {
    if (options.cached === true) {
      const hit = this.buckets.get(name);
      if (hit !== undefined) return hit.info;
    }
    return (await this.freshBucket(name)).info;
  }

  /** Reads the bucket record (linearizable) into the cache; NoSuchBucket when there is none. */
  private async freshBucket(name: string, settled = false): Promise<CachedBucket> {
    const found = await this.db.get(TABLES.buckets, bucketKey(name));
    if (found === undefined) {
      this.buckets.forget(name);
      // A mark abandoned by a dead DeleteBucket hides the bucket until someone settles it.
      if (!settled && (await inspectMark(this.deletion, name)) === 'settled')
        return this.freshBucket(name, true);
      throw NoSuchBucket(name);
    }
    const entry = { info: toBucket(name, found.value), version: found.version, at: Date.now() };
    this.buckets.set(name, entry);
    return entry;
  }

  async deleteBucket(name: string): Promise<void> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const found = await this.db.get(TABLES.buckets, bucketKey(name));
      if (found === undefined) {
        this.buckets.forget(name);
        throw NoSuchBucket(name);
      }
      const marked = await markDeleting(this.deletion, name, found);
      if (marked.kind === 'conflict') throw NoSuchBucket(name);
      if (marked.kind === 'missing') {
        await backoff(attempt); // the record changed (settings) since the read
        continue;
      }
      this.buckets.forget(name);
      let empty: boolean;
      try {
        empty = await bucketIsEmpty(this.deletion, name);
      } catch (error) {
        // The record goes back (a failed revert leaves a mark the next reader settles).
        await finishDeletion(this.deletion, name, marked.mark, marked.original, false).catch(() => false);
        throw error;
      }
      const done = await finishDeletion(this.deletion, name, marked.mark, marked.original, empty);
      if (!done) throw InternalError(new Error(`the deletion mark of bucket ${name} was changed`));
      if (!empty) throw BucketNotEmpty(name);
      return;
    }
    throw new S3Error('SlowDown', `Too many concurrent changes to bucket ${name}; please retry.`, 503);
  }

  async listBuckets(owner?: string): Promise<BucketInfo[]> {
    const out: BucketInfo[] = [];
    for await (const item of this.db.scanAll(TABLES.buckets, { limit: 1000 })) {
      const info = toBucket(Buffer.from(item.key).toString('utf8'), item.value);
      if (owner === undefined || info.owner === owner) out.push(info);
    }
    return out;
  }

  async updateBucketSettings(
    name: string,
    change: (current: BucketSettings) => BucketSettings,
  ): Promise<BucketInfo> {
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const found = await this.db.get(TABLES.buckets, bucketKey(name));
      if (found === undefined) throw NoSuchBucket(name);
      const { cors, versioning, ...base } = decodeBucketRecord(found.value);
      const next = change({
        ...(cors === undefined ? {} : { cors }),
        ...(versioning === undefined ? {} : { versioning }),
      });
      const record: BucketRecord = {
        ...base,
        ...(next.cors === undefined ? {} : { cors: next.cors }),
        ...(next.versioning === undefined ? {} : { versioning: next.versioning }),
      };
      const value = encodeBucketRecord(record);
      const result = await this.db.batch(
        [{ kind: 'versionEquals', table: TABLES.buckets, key: bucketKey(name), version: found.version }],
        [{ kind: 'put', table: TABLES.buckets, key: bucketKey(name), value }],
      );
      if (result.ok) {
        const info = toBucket(name, value);
        this.buckets.set(name, { info, version: result.version, at: Date.now() });
        return info;
      }
      await backoff(attempt);
    }
    throw new S3Error('SlowDown', `Too many concurrent changes to bucket ${name}; please retry.`, 503);
  }

  private async requireBucket(name: string): Promise<void> {
    await this.freshBucket(name);
  }

  /**
   * After a commit failed its bucket precondition: retry (settings changed, or a DeleteBucket is
   * checking the bucket and may yet put it back), or NoSuchBucket when the incarnation the request
   * was checked against is gone.
   */
  private async bucketChanged(name: string, used: CachedBucket, attempt: number): Promise<CachedBucket> {
    this.buckets.forget(name);
    const found = await this.db.get(TABLES.buckets, bucketKey(name));
    if (found !== undefined) {
      const entry = { info: toBucket(name, found.value), version: found.version, at: Date.now() };
      if (!sameIncarnation(entry.info, used.info)) throw NoSuchBucket(name);
      this.buckets.set(name, entry);
      return entry;
    }
    if ((await inspectMark(this.deletion, name)) !== 'none') {
      await backoff(attempt);
      return this.bucketChanged(name, used, attempt + 1 < COMMIT_ATTEMPTS ? attempt + 1 : attempt);
    }
    throw NoSuchBucket(name);
  }

  // ---- objects ---------------------------------------------------------------------------------

  async putObject(input: PutObjectInput): Promise<PutResult> {
    const { bucket, key } = input;
    // The commit's precondition checks the bucket; a small PUT skips the extra s3db read up front
    // (into a missing bucket it then only writes shards that become garbage).
    if (input.expectedSize === undefined || input.expectedSize > SMALL_PUT_BYTES)
      await this.requireBucket(bucket);
    const versionId = newVersionId();
    const versionHex = versionId.toString('hex');
    const attempted: AttemptedChunks = [];
    const ctx = await this.writeContext();
    let committed = false;
    try {
      const written = await writeObject(
        ctx,
        {
          bucket,
          key,
          versionId,
          body: input.body,
          ...(input.expectedSize === undefined ? {} : { expectedSize: input.expectedSize }),
          inlineMaxBytes: ctx.inlineMaxBytes ?? 0,
        },
        attempted,
      );
      const md5 = written.size === 0 ? EMPTY_MD5 : written.md5;
      if (input.expectedMd5 !== undefined && !md5.equals(input.expectedMd5)) throw BadDigest();
      if (input.beforeCommit !== undefined) await input.beforeCommit();
      const record: ObjectRecord = {
        v: 1,
        versionId: versionHex,
        size: written.size,
        etag: md5.toString('hex'),
        lastModified: Date.now(),
        meta: metadataOf(input.metadata),
        segmentSize: ctx.geometry.segmentSize,
        chunkSize: ctx.geometry.chunkSize,
        chunks: written.chunks,
      };
      if (written.inline !== undefined) record.inline = written.inline.toString('base64');
      if (input.tags !== undefined && input.tags.length > 0) record.tags = input.tags;
      const checksum = input.checksum?.();
      if (checksum !== undefined) record.checksum = checksum;
      const repairs: BatchOp[] = written.repairs.map((r) => ({
        kind: 'put',
        table: TABLES.repair,
        key: repairKey(versionId, r.chunkIndex),
        value: encodeRepairRecord({
          v: 1,
          bucket,
          key,
          versionId: versionHex,
          chunkIndex: r.chunkIndex,
          shards: r.shards,
          reason: 'write-failed',
          created: Date.now(),
        }),
      }));
      await this.commit(
        bucket,
        key,
        [
          {
            kind: 'put',
            table: TABLES.objects,
            key: objectKey(bucket, key),
            value: encodeObjectRecord(record),
          },
          ...repairs,
        ],
        'overwrite',
      );
      committed = true;
      return {
        etag: `"${record.etag}"`,
        versionId: versionHex,
        size: record.size,
        lastModified: new Date(record.lastModified),
      };
    } finally {
      if (!committed && attempted.length > 0) await this.recordFailedPut(versionHex, attempted);
    }
  }

  /**
   * Applies `ops` to `bucket/key` in one batch that also moves the current version (if any) to the
   * garbage table. Precondition: the record is still the one read, and the bucket exists; on a
   * conflict it reads again and retries (last writer wins).
   */
  private async commit(
    bucket: string,
    key: string,
    ops: BatchOp[],
    reason: GarbageRecord['reason'],
  ): Promise<boolean> {
    const recordKey = objectKey(bucket, key);
    // The bucket incarnation the caller's ownership check saw (bucket cache): the commit requires
    // its record unchanged, so nothing lands in a bucket deleted (or being deleted) meanwhile.
    const first = this.buckets.get(bucket) ?? (await this.freshBucket(bucket));
    let used = first;
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      // The first attempt reads without a ReadIndex round: a stale answer only fails the precondition.
      const current = await this.db.get(TABLES.objects, recordKey, { stale: attempt === 0 });
      const preconditions: Precondition[] = [
        { kind: 'versionEquals', table: TABLES.buckets, key: bucketKey(bucket), version: used.version },
        { kind: 'versionEquals', table: TABLES.objects, key: recordKey, version: current?.version ?? 0 },
      ];
      const all = [...ops];
      if (current !== undefined) {
        const old = decodeObjectRecord(current.value);
        if (old.chunks.length > 0)
          all.push({
            kind: 'put',
            table: TABLES.garbage,
            key: garbageKey(Buffer.from(old.versionId, 'hex')),
            value: encodeGarbageRecord(garbageOf(old.versionId, shardsOf(old), reason)),
          });
      } else if (reason === 'delete') {
        return false;
      }
      const result = await this.db.batch(preconditions, all);
      if (result.ok) return current !== undefined;
      if (result.failed === 0) {
        used = await this.bucketChanged(bucket, first, attempt);
        continue;
      }
      await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** attempt) * Math.random()));
    }
    throw new S3Error('SlowDown', `Too many concurrent writes to ${key}; please retry.`, 503);
  }

  private async recordFailedPut(versionHex: string, attempted: AttemptedChunks): Promise<void> {
    const shards = attempted.flatMap(({ chunkIndex, nodes }) =>
      nodes.map((node, shardIndex) => ({ chunkIndex, shardIndex, node })),
    );
    try {
      await this.db.put(
        TABLES.garbage,
        garbageKey(Buffer.from(versionHex, 'hex')),
        encodeGarbageRecord(garbageOf(versionHex, shards, 'failed-put')),
      );
    } catch {
      // s3db unreachable: the shards stay orphaned until a scrub finds them (see docs/distributed.md).
    }
  }

  private async record(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const found = await this.db.get(TABLES.objects, objectKey(bucket, key));
    if (found === undefined) {
      await this.requireBucket(bucket);
      return undefined;
    }
    return decodeObjectRecord(found.value);
  }

  async headObject(bucket: string, key: string): Promise<ObjectInfo> {
    const record = await this.record(bucket, key);
    if (record === undefined) throw NoSuchKey(key);
    return toInfo(key, record);
  }

  async getObject(
    bucket: string,
    key: string,
    options: { check?: (info: ObjectInfo) => void; range?: RangeResolver } = {},
  ): Promise<GetObjectResult> {
    const record = await this.record(bucket, key);
    if (record === undefined) throw NoSuchKey(key);
    const info = toInfo(key, record);
    options.check?.(info);
    const range = options.range?.(info);
    const inline = inlineBytes(record);
    if (inline !== undefined) {
      // In memory already: handed to the response as one buffer (no stream), see GetObjectResult.bytes.
      const bytes = range === undefined ? inline : inline.subarray(range.start, range.end + 1);
      const result: GetObjectResult = { info, body: readInline(inline, range).body, bytes };
      if (range !== undefined) result.range = range;
      return result;
    }
    const reading = readObject(this.ctx, record, {
      ...(range === undefined ? {} : { range }),
      onIssue: (issue) => this.queueReadRepair(bucket, key, record.versionId, issue),
    });
    await reading.first;
    const result: GetObjectResult = { info, body: reading.body };
    if (range !== undefined) result.range = range;
    return result;
  }

  private queueReadRepair(bucket: string, key: string, versionHex: string, issue: ReadIssue): void {
    const versionId = Buffer.from(versionHex, 'hex');
    const record: RepairRecord = {
      v: 1,
      bucket,
      key,
      versionId: versionHex,
      chunkIndex: issue.chunkIndex,
      shards: issue.shards,
      reason: issue.reason,
      created: Date.now(),
    };
    if (record.shards.length === 0) return;
    void this.db
      .put(TABLES.repair, repairKey(versionId, issue.chunkIndex), encodeRepairRecord(record))
      .catch(() => undefined);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const existed = await this.commit(
      bucket,
      key,
      [{ kind: 'delete', table: TABLES.objects, key: objectKey(bucket, key) }],
      'delete',
    ).catch((error: unknown) => {
      throw error instanceof S3Error ? error : InternalError(error);
    });
    if (!existed) await this.requireBucket(bucket);
  }

  async setObjectTags(bucket: string, key: string, tags: ObjectTag[]): Promise<ObjectInfo> {
    const recordKey = objectKey(bucket, key);
    for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
      const found = await this.db.get(TABLES.objects, recordKey);
      if (found === undefined) {
        await this.requireBucket(bucket);
        throw NoSuchKey(key);
      }
      const { tags: _old, ...rest } = decodeObjectRecord(found.value);
      const record: ObjectRecord = tags.length === 0 ? rest : { ...rest, tags };
      // Compare-and-set: a PUT or DELETE that committed since the read fails this batch, and the
      // next attempt tags whatever is current then.
      const result = await this.db.batch(
        [
          { kind: 'exists', table: TABLES.buckets, key: bucketKey(bucket) },
          { kind: 'versionEquals', table: TABLES.objects, key: recordKey, version: found.version },
        ],
        [{ kind: 'put', table: TABLES.objects, key: recordKey, value: encodeObjectRecord(record) }],
      );
      if (result.ok) return toInfo(key, record);
      if (result.failed === 0) throw NoSuchBucket(bucket);
      await backoff(attempt);
    }
    throw new S3Error('SlowDown', `Too many concurrent writes to ${key}; please retry.`, 503);
  }

  async listObjects(input: ListObjectsInput): Promise<ListObjectsResult> {
    await this.requireBucket(input.bucket);
    const page = await listByScans(
      async (request) => {
        const r = await this.db.scan(TABLES.objects, {
          prefix: request.prefix,
          ...(request.startAfter === undefined ? {} : { startAfter: request.startAfter }),
          limit: request.limit,
        });
        return { items: r.items, truncated: r.truncated };
      },
      input,
      decodeObjectRecord,
    );
    const result: ListObjectsResult = { contents: [], commonPrefixes: [], isTruncated: page.isTruncated };
    for (const entry of page.entries) {
      if (entry.kind === 'prefix') result.commonPrefixes.push(entry.value);
      else result.contents.push(toInfo(entry.key, entry.record));
    }
    if (page.nextAfter !== undefined) result.nextAfter = page.nextAfter;
    return result;
  }
}
