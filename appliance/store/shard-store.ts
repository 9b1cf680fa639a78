/**
 * The appliance shard store: shards in append-only volume files, located through a LevelDB index.
 * Writes go through one commit pipeline (group commit): everything queued while a commit is in flight is
 * written, fdatasync'ed and indexed (LevelDB batch with sync) together, then acknowledged together.
 */
import { mkdir, open, stat, statfs, truncate } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreError } from './errors.ts';
import {
  CorruptSegmentError,
  DiskFullError,
  InvalidArgumentError,
  SegmentTooLargeError,
  ShardNotFoundError,
  StoreClosedError,
  StoreIoError,
  toStoreIoError,
} from './errors.ts';
import {
  INDEX_FORMAT,
  decodeLiveEntry,
  decodeLocation,
  decodeU64,
  decodeVolumeInfo,
  deadKey,
  encodeLiveEntry,
  encodeLocation,
  encodeU64,
  encodeVolumeInfo,
  liveKey,
  metaKey,
  tableRange,
  tombKey,
  volumeKey,
} from './index-codec.ts';
import type { LiveEntry, RecordLocation, VolumeInfo } from './index-codec.ts';
import { createIndexDb, isLockedError } from './index-db.ts';
import type { IndexBatchOp, IndexDb } from './index-db.ts';
import { rebuildIndex } from './index-rebuild.ts';
import type { RebuildReport } from './index-rebuild.ts';
import {
  MAX_PAYLOAD_BYTES,
  MAX_SEGMENTS,
  MAX_SEGMENT_BYTES,
  RECORD_FLAG_COMPRESSED,
  RECORD_HEADER_BYTES,
  RecordKind,
  SEGMENT_ENTRY_BYTES,
  VOLUME_HEADER_BYTES,
  encodeRecordHeader,
  encodeSegmentTable,
  segmentOffsets,
} from './record-codec.ts';
import { crc32c } from '../../shared/checksum/index.ts';
import { decodeSegment, encodeSegment, fillSegmentCrc, segmentWithoutCrc } from './segment-codec.ts';
import { SegmentStaging, segmentInputLength } from './segment-staging.ts';
import type { SegmentInput } from './segment-staging.ts';
import type { Compression, EncodedSegment } from './segment-codec.ts';
import { SHARD_KEY_BYTES, decodeShardKey, encodeShardKey, formatShardKey } from './shard-key.ts';
import type { ShardKey } from './shard-key.ts';
import { createVolumeFile, fsyncDir, listVolumeIds, removeFileIfExists, volumePath } from './volume-files.ts';
import { VolumeReaders } from './volume-readers.ts';
import { appendWithEarlyWriteBack } from './volume-writer.ts';
import { compactVolume } from './compaction.ts';
import { scanVolume } from './volume-scanner.ts';
import type { CompactionResult } from './compaction.ts';
import { scrubVolumes } from './scrub.ts';
import type { ScrubProgress, ScrubReport } from './scrub.ts';

export interface ShardStoreOptions {
  /** Directory of this store: `volumes/` and `index/` live under it. */
  path: string;
  /** A volume is sealed and a new one started once the next record would pass this size (default 1 GiB). */
  volumeSizeBytes?: number;
  compression?: Compression;
  /** compact() rewrites sealed volumes whose dead/(live+dead) bytes reach this ratio (default 0.5). */
  compactionGarbageRatio?: number;
  /** Writes fail with DiskFullError when they would leave less free space than this (default 0: off). */
  minFreeBytes?: number;
  /** Upper bound of the bytes written by one group commit (default 64 MiB). */
  maxCommitBytes?: number;
  /**
   * A commit writes its records in pieces of this size and starts an fdatasync in the background after the
   * first one, so the disk works while the rest is copied (default 1 MiB; 0: one write, one sync at the end).
   */
  writeBackPieceBytes?: number;
  /**
   * Early write-back is used only by commits of at least this many bytes (default 16 MiB: group commits of
   * several large shards). Smaller commits write in one go and sync once, which measured better for one
   * writer of 8 MiB shards on a loaded machine (fewer thread-pool round trips and device flushes).
   */
  writeBackMinCommitBytes?: number;
}

export interface ShardMeta {
  rsData: number;
  rsParity: number;
}

export interface PutOptions {
  /**
   * false: the caller keeps every segment's bytes unchanged until put() settles, so the store writes them from
   * the caller's buffers instead of copying them first (it keeps no reference after settling). Default true.
   */
  copy?: boolean;
}

export interface PutResult {
  /** Logical bytes of the shard. */
  bytes: number;
  segments: number;
  /** Bytes the record takes on disk (header, segment table, stored payload). */
  storedBytes: number;
}

export interface ShardStat {
  segments: number;
  segmentLengths: number[];
  /** CRC32C of each segment's logical bytes. */
  segmentCrcs: number[];
  bytes: number;
  storedBytes: number;
  rsData: number;
  rsParity: number;
}

export interface ListResult {
  keys: ShardKey[];
  /** Pass as `after` to continue; absent when the listing is complete. */
  next?: ShardKey;
}

export interface VolumeStats extends VolumeInfo {
  garbageRatio: number;
}

export interface StoreStats {
  volumes: VolumeStats[];
  shardCount: number;
  liveBytes: number;
  deadBytes: number;
  disk: { freeBytes: number; totalBytes: number };
  /** Group commits since open, and the records they wrote (records / commits = batching achieved). */
  commits: number;
  committedRecords: number;
}

export interface OpenReport {
  /** Set when the index was missing or damaged and was rebuilt from the volumes. */
  rebuilt?: RebuildReport & { reason: string };
  /** Bytes cut from volume tails that were written but never acknowledged. */
  truncatedTails: Array<{ volume: number; bytes: number }>;
  removedVolumes: number[];
}

interface PutJob {
  kind: 'put';
  keyBytes: Buffer;
  meta: ShardMeta;
  segments: EncodedSegment[];
  payloadLength: number;
  logicalBytes: number;
  /** The segments' CRCs are computed by the commit, while it writes them (large uncompressed shards). */
  crcPending: boolean;
  resolve: (r: PutResult) => void;
  reject: (e: unknown) => void;
}

interface DeleteJob {
  kind: 'delete';
  keyBytes: Buffer;
  resolve: (existed: boolean) => void;
  reject: (e: unknown) => void;
}

/** Work that must run alone in the commit pipeline (compaction's index switch). */
interface ExclusiveJob {
  kind: 'exclusive';
  run: () => Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

type Job = PutJob | DeleteJob | ExclusiveJob;

interface ActiveVolume {
  id: number;
  fh: FileHandle;
  tail: number;
}

interface KeyState {
  live: LiveEntry | null;
  tomb: RecordLocation | null;
}

const DEFAULTS = {
  volumeSizeBytes: 1024 * 1024 * 1024,
  compression: 'none' as Compression,
  compactionGarbageRatio: 0.5,
  minFreeBytes: 0,
  maxCommitBytes: 64 * 1024 * 1024,
  writeBackPieceBytes: 1024 * 1024,
  writeBackMinCommitBytes: 16 * 1024 * 1024,
};

const MAX_READ_ATTEMPTS = 4;
/** Shards from this size on have their CRCs computed during the commit's writes (see put). */
const DEFERRED_CRC_MIN_BYTES = 512 * 1024;

function cloneInfo(info: VolumeInfo): VolumeInfo {
  return { ...info };
}

export class ShardStore {
  readonly path: string;
  readonly volumesDir: string;
  readonly indexDir: string;
  readonly options: Required<Omit<ShardStoreOptions, 'path'>>;
  /** What open() found and repaired. */
  openReport: OpenReport = { truncatedTails: [], removedVolumes: [] };

  /** @internal */ db: IndexDb;
  /** @internal */ readonly volumes = new Map<number, VolumeInfo>();
  /** @internal */ readonly readers: VolumeReaders;
  /** @internal */ nextVolumeId = 1;
  private active: ActiveVolume | null = null;
  private nextSeq = 0;
  private readonly queue: Job[] = [];
  private draining: Promise<void> | null = null;
  private compacting: Promise<void> = Promise.resolve();
  private commitCount = 0;
  private committedRecordCount = 0;
  /** Set when a sync failed after the index moved on: the store refuses work until it is reopened. */
  private failed: StoreError | null = null;
  private closed = false;
  /** Volume infos changed outside a successful commit (e.g. sealed by a failed one) and not yet persisted. */
  private readonly dirtyVolumes = new Set<number>();

  private constructor(options: ShardStoreOptions) {
    this.path = options.path;
    this.volumesDir = join(options.path, 'volumes');
    this.indexDir = join(options.path, 'index');
    this.options = {
      volumeSizeBytes: options.volumeSizeBytes ?? DEFAULTS.volumeSizeBytes,
      compression: options.compression ?? DEFAULTS.compression,
      compactionGarbageRatio: options.compactionGarbageRatio ?? DEFAULTS.compactionGarbageRatio,
      minFreeBytes: options.minFreeBytes ?? DEFAULTS.minFreeBytes,
      maxCommitBytes: options.maxCommitBytes ?? DEFAULTS.maxCommitBytes,
      writeBackPieceBytes: options.writeBackPieceBytes ?? DEFAULTS.writeBackPieceBytes,
      writeBackMinCommitBytes: options.writeBackMinCommitBytes ?? DEFAULTS.writeBackMinCommitBytes,
    };
    const o = this.options;
    if (!Number.isSafeInteger(o.volumeSizeBytes) || o.volumeSizeBytes < 4096) {
      throw new InvalidArgumentError('volumeSizeBytes must be an integer >= 4096');
    }
    if (o.compression !== 'lz4' && o.compression !== 'none') {
      throw new InvalidArgumentError(`unknown compression ${String(o.compression)}`);
    }
    if (!(o.compactionGarbageRatio > 0 && o.compactionGarbageRatio <= 1)) {
      throw new InvalidArgumentError('compactionGarbageRatio must be in (0, 1]');
    }
    if (!Number.isSafeInteger(o.minFreeBytes) || o.minFreeBytes < 0) {
      throw new InvalidArgumentError('minFreeBytes must be a non-negative integer');
    }
    if (!Number.isSafeInteger(o.maxCommitBytes) || o.maxCommitBytes < 1) {
      throw new InvalidArgumentError('maxCommitBytes must be a positive integer');
    }
    if (!Number.isSafeInteger(o.writeBackPieceBytes) || o.writeBackPieceBytes < 0) {
      throw new InvalidArgumentError('writeBackPieceBytes must be a non-negative integer');
    }
    if (!Number.isSafeInteger(o.writeBackMinCommitBytes) || o.writeBackMinCommitBytes < 0) {
      throw new InvalidArgumentError('writeBackMinCommitBytes must be a non-negative integer');
    }
    this.db = createIndexDb(this.indexDir);
    this.readers = new VolumeReaders(this.volumesDir);
  }

  /** Opens (creating if needed) the store at `options.path`; rebuilds the index if it is missing or damaged. */
  static async open(options: ShardStoreOptions): Promise<ShardStore> {
    if (typeof options?.path !== 'string' || options.path === '')
      throw new InvalidArgumentError('path is required');
    const store = new ShardStore(options);
    await mkdir(store.volumesDir, { recursive: true });
    await store.openIndex();
    return store;
  }

  // ---------------------------------------------------------------- opening and recovery

  private async openIndex(): Promise<void> {
    let reason = await this.tryLoadIndex();
    if (reason !== null) {
      await this.db.close().catch(() => undefined);
      const report = await rebuildIndex(this.volumesDir, this.indexDir);
      this.openReport.rebuilt = { ...report, reason };
      this.db = createIndexDb(this.indexDir);
      reason = await this.tryLoadIndex();
      if (reason !== null) throw new StoreIoError(`index still unusable after rebuild: ${reason}`);
    }
  }

  /** Opens and checks the index against the volume files; returns why it is unusable, or null. */
  private async tryLoadIndex(): Promise<string | null> {
    const exists = await stat(this.indexDir).then(
      () => true,
      () => false,
    );
    if (!exists) return 'index missing';
    try {
      await this.db.open();
    } catch (err) {
      if (isLockedError(err)) throw new StoreIoError(`store at ${this.path} is in use by another process`);
      return `index does not open: ${(err as { cause?: Error }).cause?.message ?? String(err)}`;
    }
    try {
      const format = await this.db.get(metaKey('format'));
      if (format === undefined) return 'index incomplete (no format marker)';
      if (decodeU64(format) !== INDEX_FORMAT)
        return `index format ${decodeU64(format)} is not ${INDEX_FORMAT}`;
      const seq = await this.db.get(metaKey('seq'));
      if (seq === undefined) return 'index has no sequence number';
      this.nextSeq = decodeU64(seq);
      this.volumes.clear();
      for await (const [, value] of this.db.iterator(tableRange('volume'))) {
        const info = decodeVolumeInfo(value);
        this.volumes.set(info.id, info);
      }
    } catch (err) {
      return `index unreadable: ${err instanceof Error ? err.message : String(err)}`;
    }
    const unreconciled = await this.reconcileVolumes();
    if (unreconciled !== null) return unreconciled;
    return await this.verifyLastCommit();
  }

  /**
   * The last group commit synced its volumes and its index in parallel. After a power loss the index may
   * have survived while volume bytes did not: re-check that commit's records, and rebuild if they are bad.
   */
  private async verifyLastCommit(): Promise<string | null> {
    const value = await this.db.get(metaKey('lastCommit'));
    if (value === undefined) return null;
    let ranges: Array<{ volume: number; start: number; end: number }>;
    try {
      ranges = JSON.parse(value.toString('utf8')) as typeof ranges;
    } catch {
      return 'last commit marker unreadable';
    }
    for (const r of ranges) {
      const info = this.volumes.get(r.volume);
      if (info === undefined || info.state === 'retired') continue;
      if (r.end > info.committedBytes)
        return `last commit of volume ${r.volume} ends past its committed size`;
      const fh = await open(volumePath(this.volumesDir, r.volume), 'r');
      try {
        let at = r.start;
        for await (const item of scanVolume(fh, { start: r.start, end: r.end, verifyPayload: true })) {
          if (item.type === 'record' && item.payload === 'ok') at = item.offset + item.length;
          else if (item.type !== 'end')
            return `last commit of volume ${r.volume} did not reach the disk intact`;
        }
        if (at !== r.end) return `last commit of volume ${r.volume} did not reach the disk intact`;
      } finally {
        await fh.close();
      }
    }
    return null;
  }

  /** Makes the volume files match the index: finishes retirements, drops orphans, cuts unacknowledged tails. */
  private async reconcileVolumes(): Promise<string | null> {
    const onDisk = new Set(await listVolumeIds(this.volumesDir));
    let maxId = 0;
    for (const id of onDisk) maxId = Math.max(maxId, id);
    const ops: IndexBatchOp[] = [];
    let changedDir = false;
    for (const info of [...this.volumes.values()]) {
      maxId = Math.max(maxId, info.id);
      if (info.state === 'retired') {
        // Compaction switched the index away from it, then stopped before removing the file.
        if (await removeFileIfExists(volumePath(this.volumesDir, info.id))) {
          changedDir = true;
          this.openReport.removedVolumes.push(info.id);
        }
        this.volumes.delete(info.id);
        onDisk.delete(info.id);
        ops.push({ type: 'del', key: volumeKey(info.id) });
        continue;
      }
      if (!onDisk.has(info.id)) return `volume ${info.id} is in the index but its file is missing`;
      onDisk.delete(info.id);
      const path = volumePath(this.volumesDir, info.id);
      const size = (await stat(path)).size;
      if (size < info.committedBytes) {
        return `volume ${info.id} is ${size} bytes, shorter than its committed ${info.committedBytes}`;
      }
      if (size > info.committedBytes) {
        await truncate(path, info.committedBytes);
        const fh = await open(path, 'r+');
        await fh.sync().finally(() => fh.close());
        this.openReport.truncatedTails.push({ volume: info.id, bytes: size - info.committedBytes });
      }
    }
    // Files the index does not know: a compaction's unfinished output or a volume whose first commit failed.
    for (const id of onDisk) {
      await removeFileIfExists(volumePath(this.volumesDir, id));
      this.openReport.removedVolumes.push(id);
      changedDir = true;
    }
    if (changedDir) await fsyncDir(this.volumesDir);
    if (ops.length > 0) await this.db.batch(ops, { sync: true });
    this.nextVolumeId = maxId + 1;
    const active = [...this.volumes.values()].find((v) => v.state === 'active');
    if (active !== undefined) {
      const fh = await open(volumePath(this.volumesDir, active.id), 'r+');
      this.active = { id: active.id, fh, tail: active.committedBytes };
    }
    return null;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Stores a shard from its segments (each at most 64 KiB) and resolves once it is durable. Putting a key that
   * exists replaces it (last write wins); the old record becomes garbage for compaction. A segment may be
   * given as the list of buffers it is made of (as a transport received it); they are joined by the copy.
   */
  async put(
    key: ShardKey,
    meta: ShardMeta,
    segments: AsyncIterable<SegmentInput> | Iterable<SegmentInput>,
    options: PutOptions = {},
  ): Promise<PutResult> {
    this.assertOpen();
    const keyBytes = encodeShardKey(key);
    for (const [name, value] of [
      ['rsData', meta?.rsData],
      ['rsParity', meta?.rsParity],
    ] as const) {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
        throw new InvalidArgumentError(`${name} must be an integer in 0..255`);
      }
    }
    const iterable = segments as Partial<AsyncIterable<unknown> & Iterable<unknown>> | null;
    if (
      typeof iterable !== 'object' ||
      iterable === null ||
      (typeof iterable[Symbol.asyncIterator] !== 'function' &&
        typeof iterable[Symbol.iterator] !== 'function')
    ) {
      throw new InvalidArgumentError('segments must be an iterable or async iterable of Uint8Array');
    }
    const encoded: EncodedSegment[] = [];
    const staging = new SegmentStaging();
    const uncompressed = this.options.compression === 'none';
    let payloadLength = 0;
    let logicalBytes = 0;
    for await (const segment of segments as AsyncIterable<SegmentInput>) {
      const size = segmentInputLength(segment);
      if (size < 0) throw new InvalidArgumentError('segments must be Uint8Arrays (or arrays of them)');
      if (size > MAX_SEGMENT_BYTES) {
        throw new SegmentTooLargeError(encoded.length, size, MAX_SEGMENT_BYTES);
      }
      if (encoded.length >= MAX_SEGMENTS)
        throw new InvalidArgumentError(`a shard has at most ${MAX_SEGMENTS} segments`);
      // Copy: the caller may reuse its buffer once this segment has been handed over (unless it said it
      // will not before put settles; a segment in parts is joined by the copy either way).
      const bytes = options.copy === false && segment instanceof Uint8Array ? segment : staging.copy(segment);
      const seg = uncompressed ? segmentWithoutCrc(bytes) : encodeSegment(bytes, this.options.compression);
      payloadLength += seg.entry.storedLength;
      logicalBytes += seg.entry.logicalLength;
      if (payloadLength > MAX_PAYLOAD_BYTES) throw new InvalidArgumentError('shard too large for one record');
      encoded.push(seg);
    }
    // Large uncompressed shards get their CRCs computed by the commit while their bytes are being written
    // (one more small write for the record head); small ones are done here so a commit writes them in one go.
    const crcPending = uncompressed && payloadLength >= DEFERRED_CRC_MIN_BYTES;
    if (uncompressed && !crcPending) for (const seg of encoded) fillSegmentCrc(seg);
    this.assertOpen();
    return await new Promise<PutResult>((resolve, reject) => {
      this.enqueue({
        kind: 'put',
        keyBytes,
        meta: { rsData: meta.rsData, rsParity: meta.rsParity },
        segments: encoded,
        payloadLength,
        logicalBytes,
        crcPending,
        resolve,
        reject,
      });
    });
  }

  /** Deletes a shard (appends a durable tombstone). Resolves false when there was nothing to delete. */
  async delete(key: ShardKey): Promise<boolean> {
    this.assertOpen();
    const keyBytes = encodeShardKey(key);
    return await new Promise<boolean>((resolve, reject) => {
      this.enqueue({ kind: 'delete', keyBytes, resolve, reject });
    });
  }

  /** @internal Runs `run` inside the commit pipeline with no other commit in flight. */
  runExclusive(run: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => this.enqueue({ kind: 'exclusive', run, resolve, reject }));
  }

  private enqueue(job: Job): void {
    this.queue.push(job);
    if (this.draining === null) this.draining = this.drain();
  }

  /** Never throws: every failure is delivered to the jobs it concerns. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const first = this.queue[0] as Job;
      if (first.kind === 'exclusive') {
        this.queue.shift();
        try {
          await first.run();
          first.resolve();
        } catch (err) {
          first.reject(err);
        }
        continue;
      }
      // Let writers woken by the previous commit queue their next record, so it joins this commit.
      await new Promise((resolve) => setImmediate(resolve));
      const batch: Array<PutJob | DeleteJob> = [];
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Job;
        if (next.kind === 'exclusive') break;
        const size = next.kind === 'put' ? next.payloadLength : 0;
        if (batch.length > 0 && bytes + size > this.options.maxCommitBytes) break;
        this.queue.shift();
        batch.push(next);
        bytes += size;
      }
      try {
        await this.commit(batch);
      } catch (err) {
        for (const job of batch) job.reject(err);
      }
    }
    // Cleared in the same tick the queue was seen empty, so a job enqueued after this starts a new drain.
    this.draining = null;
  }

  private async loadKeyStates(batch: Array<PutJob | DeleteJob>): Promise<Map<string, KeyState>> {
    const ids = [...new Set(batch.map((j) => j.keyBytes.toString('latin1')))];
    const keys = ids.map((id) => Buffer.from(id, 'latin1'));
    const [lives, tombs] = await Promise.all([
      this.db.getMany(keys.map(liveKey)),
      this.db.getMany(keys.map(tombKey)),
    ]);
    const states = new Map<string, KeyState>();
    ids.forEach((id, i) => {
      const live = lives[i];
      const tomb = tombs[i];
      states.set(id, {
        live: live === undefined ? null : decodeLiveEntry(live),
        tomb: tomb === undefined ? null : decodeLocation(tomb),
      });
    });
    return states;
  }

  private async checkFreeSpace(bytes: number): Promise<void> {
    if (this.options.minFreeBytes === 0) return;
    const fs = await statfs(this.volumesDir);
    const free = fs.bavail * fs.bsize;
    if (free - bytes < this.options.minFreeBytes) {
      throw new DiskFullError(
        `disk full: ${free} bytes free, a write of ${bytes} would leave less than the reserved ${this.options.minFreeBytes}`,
      );
    }
  }

  /** One group commit: append every record, fdatasync, write the index batch with sync, then acknowledge. */
  private async commit(batch: Array<PutJob | DeleteJob>): Promise<void> {
    const states = await this.loadKeyStates(batch);
    const infos = new Map<number, VolumeInfo>();
    const info = (id: number): VolumeInfo => {
      let v = infos.get(id);
      if (v === undefined) {
        const current = this.volumes.get(id);
        if (current === undefined) throw new StoreIoError(`volume ${id} is not known`);
        v = cloneInfo(current);
        infos.set(id, v);
      }
      return v;
    };
    const ops: IndexBatchOp[] = [];
    const writes = new Map<number, { fh: FileHandle; start: number; buffers: Buffer[]; bytes: number }>();
    const results: Array<PutResult | boolean> = [];
    const created: ActiveVolume[] = [];
    /** Records whose CRCs are computed while the commit writes them; their heads are written afterwards. */
    const pendingHeads: RecordHeadFixup[] = [];
    let active = this.active === null ? null : { ...this.active };
    let seq = this.nextSeq;
    let totalBytes = 0;

    const markDead = (keyBytes: Buffer, live: LiveEntry): void => {
      ops.push({ type: 'put', key: deadKey(keyBytes, live.volume, live.offset), value: Buffer.alloc(0) });
      const v = info(live.volume);
      v.liveBytes -= live.length;
      v.deadBytes += live.length;
      v.liveShards -= 1;
    };

    // Volumes created while placing records exist on disk now, whatever happens to this batch: the newest
    // becomes the active one, the others are sealed. Their handles close once this batch's writes are done.
    // The volumes left behind are marked sealed only once this batch is over (success: with its volume infos;
    // failure: after the cut-back): compaction takes sealed volumes, and must not scan one whose records of
    // this batch are still being written and not yet indexed.
    const sealedHandles: FileHandle[] = [];
    const leftBehind: number[] = [];
    const adoptCreatedVolumes = (): void => {
      const newest = created[created.length - 1];
      if (newest === undefined) return;
      for (const v of [this.active, ...created]) {
        if (v === null || v.id === newest.id) continue;
        leftBehind.push(v.id);
        this.dirtyVolumes.add(v.id);
        sealedHandles.push(v.fh);
      }
      this.active = { id: newest.id, fh: newest.fh, tail: VOLUME_HEADER_BYTES };
    };
    const sealLeftBehind = (): void => {
      for (const id of leftBehind) {
        const known = this.volumes.get(id);
        if (known !== undefined) known.state = 'sealed';
      }
    };
    try {
      for (const job of batch) {
        const id = job.keyBytes.toString('latin1');
        const state = states.get(id) as KeyState;
        if (job.kind === 'delete' && state.live === null) {
          results.push(false);
          continue;
        }
        const buffers: Buffer[] = [];
        let length = RECORD_HEADER_BYTES;
        const key = decodeShardKey(job.keyBytes);
        let recordHead: RecordHeadFixup | null = null;
        if (job.kind === 'put') {
          if (job.crcPending) {
            // Placeholders (zeros): the real header and table are written once the CRCs are known.
            const tableBytes = job.segments.length * SEGMENT_ENTRY_BYTES;
            buffers.push(Buffer.alloc(RECORD_HEADER_BYTES), Buffer.alloc(tableBytes));
            recordHead = { job, seq, key, volume: 0, offset: 0, liveOp: null };
          } else buffers.push(...encodeShardRecordHead(job, seq, key));
          buffers.push(...job.segments.map((s) => s.stored));
          length += job.segments.length * SEGMENT_ENTRY_BYTES + job.payloadLength;
        } else {
          buffers.push(
            encodeRecordHeader({
              kind: RecordKind.TOMBSTONE,
              flags: 0,
              seq,
              ...key,
              rsData: 0,
              rsParity: 0,
              segmentCount: 0,
              payloadLength: 0,
              segmentTableCrc: crc32c(Buffer.alloc(0)),
            }),
          );
        }
        if (
          active === null ||
          (active.tail + length > this.options.volumeSizeBytes && active.tail > VOLUME_HEADER_BYTES)
        ) {
          const id = this.nextVolumeId++;
          const fh = await createVolumeFile(this.volumesDir, id).catch((err: unknown) => {
            throw toStoreIoError(err, `creating volume ${id}`);
          });
          if (active !== null) info(active.id).state = 'sealed';
          active = { id, fh, tail: VOLUME_HEADER_BYTES };
          created.push(active);
          const fresh: VolumeInfo = {
            id,
            state: 'active',
            committedBytes: VOLUME_HEADER_BYTES,
            liveBytes: 0,
            deadBytes: 0,
            liveShards: 0,
          };
          this.volumes.set(id, fresh);
          this.dirtyVolumes.add(id);
          infos.set(id, cloneInfo(fresh));
        }
        let write = writes.get(active.id);
        if (write === undefined) {
          write = { fh: active.fh, start: active.tail, buffers: [], bytes: 0 };
          writes.set(active.id, write);
        }
        write.buffers.push(...buffers);
        write.bytes += length;
        const location: RecordLocation = { volume: active.id, offset: active.tail, length, seq };
        if (recordHead !== null) {
          recordHead.volume = active.id;
          recordHead.offset = active.tail;
          pendingHeads.push(recordHead);
        }
        active.tail += length;
        totalBytes += length;
        seq++;
        const target = info(active.id);
        target.committedBytes = active.tail;
        if (state.live !== null) markDead(job.keyBytes, state.live);
        if (job.kind === 'put') {
          if (state.tomb !== null) {
            ops.push({ type: 'del', key: tombKey(job.keyBytes) });
            const v = info(state.tomb.volume);
            v.liveBytes -= state.tomb.length;
            v.deadBytes += state.tomb.length;
          }
          const entry: LiveEntry = {
            ...location,
            rsData: job.meta.rsData,
            rsParity: job.meta.rsParity,
            segments: job.segments.map((s) => s.entry),
          };
          const liveOp: IndexBatchOp = {
            type: 'put',
            key: liveKey(job.keyBytes),
            value: encodeLiveEntry(entry),
          };
          ops.push(liveOp);
          if (recordHead !== null) recordHead.liveOp = { op: liveOp, entry };
          target.liveBytes += length;
          target.liveShards += 1;
          states.set(id, { live: entry, tomb: null });
          results.push({ bytes: job.logicalBytes, segments: job.segments.length, storedBytes: length });
        } else {
          ops.push({ type: 'del', key: liveKey(job.keyBytes) });
          ops.push({ type: 'put', key: tombKey(job.keyBytes), value: encodeLocation(location) });
          target.liveBytes += length;
          states.set(id, { live: null, tomb: location });
          results.push(true);
        }
      }
    } catch (err) {
      adoptCreatedVolumes();
      sealLeftBehind();
      for (const fh of sealedHandles) await fh.close().catch(() => undefined);
      throw err;
    }
    adoptCreatedVolumes();

    let indexWritten = false;
    const earlySyncs: Array<Promise<void>> = [];
    try {
      if (writes.size > 0) {
        await this.checkFreeSpace(totalBytes);
        const crcs = new DeferredCrcs(pendingHeads.flatMap((h) => h.job.segments));
        for (const write of writes.values()) {
          const appended = await appendWithEarlyWriteBack(write.fh, write.buffers, write.start, write.bytes, {
            pieceBytes:
              totalBytes >= this.options.writeBackMinCommitBytes ? this.options.writeBackPieceBytes : 0,
            // CRCs run one piece ahead of the writes, so the record heads are ready when the last piece is in.
            whileWriting:
              pendingHeads.length > 0 ? (bytes, next) => crcs.computeThrough(bytes, next) : undefined,
          });
          earlySyncs.push(appended.earlySyncs);
        }
        crcs.compute(Infinity);
        // allSettled: no head write may still be running when a failure path cuts the volume back.
        const heads = await Promise.allSettled(
          pendingHeads.map(async (head) => {
            const [header, table] = encodeShardRecordHead(head.job, head.seq, head.key);
            const want = header.byteLength + table.byteLength;
            const fh = writes.get(head.volume)!.fh;
            const { bytesWritten } = await fh.writev([header, table], head.offset);
            if (bytesWritten !== want)
              throw new DiskFullError(`short write: ${bytesWritten} of ${want} bytes`);
            if (head.liveOp !== null && head.liveOp.op.type === 'put')
              head.liveOp.op.value = encodeLiveEntry(head.liveOp.entry);
          }),
        );
        const headFailure = heads.find((r) => r.status === 'rejected');
        if (headFailure !== undefined) throw headFailure.reason;
      }
      for (const id of this.dirtyVolumes) {
        const known = this.volumes.get(id);
        // A volume compacted away since it became dirty has no info left to write.
        if (!infos.has(id) && known !== undefined) infos.set(id, cloneInfo(known));
      }
      for (const v of infos.values())
        ops.push({ type: 'put', key: volumeKey(v.id), value: encodeVolumeInfo(v) });
      ops.push({ type: 'put', key: metaKey('seq'), value: encodeU64(seq) });
      const ranges = [...writes.entries()].map(([volume, w]) => ({
        volume,
        start: w.start,
        end: w.start + w.bytes,
      }));
      ops.push({ type: 'put', key: metaKey('lastCommit'), value: Buffer.from(JSON.stringify(ranges)) });
      // The volume sync and the index sync run side by side: both finish before anything is acknowledged.
      // If power fails in between, open() re-verifies the records of the last commit (see verifyLastCommit).
      // allSettled, not all: whether the index batch landed must be known before deciding how to fail.
      const settled = await Promise.allSettled([
        ...earlySyncs,
        ...[...writes.values()].map((w) => w.fh.datasync()),
        this.db.batch(ops, { sync: true }).then(() => {
          indexWritten = true;
        }),
      ]);
      const failure = settled.find((r) => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
    } catch (err) {
      if (indexWritten) {
        // The index already points at records whose sync failed: stop here; open() sorts it out.
        this.failed = toStoreIoError(err, 'syncing a volume');
        throw this.failed;
      }
      // Nothing of this batch is acknowledged: cut the volumes back to their committed ends.
      await Promise.allSettled(earlySyncs);
      for (const [id, write] of writes) {
        await write.fh.truncate(write.start).catch(() => undefined);
        if (this.active?.id === id) this.active.tail = this.volumes.get(id)?.committedBytes ?? write.start;
      }
      sealLeftBehind();
      this.nextSeq = seq; // never reuse a sequence number that may have reached a disk
      throw toStoreIoError(err, 'committing shards');
    } finally {
      for (const fh of sealedHandles) await fh.close().catch(() => undefined);
    }
    for (const v of infos.values()) this.volumes.set(v.id, v);
    this.dirtyVolumes.clear();
    this.commitCount++;
    this.committedRecordCount += seq - this.nextSeq;
    this.nextSeq = seq;
    if (active !== null && this.active !== null && this.active.id === active.id)
      this.active.tail = active.tail;
    batch.forEach((job, i) =>
      (job.resolve as (r: PutResult | boolean) => void)(results[i] as PutResult | boolean),
    );
  }

  // ---------------------------------------------------------------- reads

  // ---------------------------------------------------------------- maintenance

  /** @internal */
  allocateVolumeId(): number {
    return this.nextVolumeId++;
  }

  /**
   * Rewrites every volume whose garbage ratio reaches `compactionGarbageRatio` (the active volume is sealed
   * first when it qualifies). Runs alongside reads and writes; one compaction at a time.
   */
  async compact(): Promise<CompactionResult[]> {
    this.assertOpen();
    const previous = this.compacting;
    const run = previous.then(() => this.compactNow());
    this.compacting = run.then(
      () => undefined,
      () => undefined,
    );
    return await run;
  }

  private async compactNow(): Promise<CompactionResult[]> {
    const threshold = this.options.compactionGarbageRatio;
    const qualifies = (v: VolumeInfo): boolean =>
      v.committedBytes > VOLUME_HEADER_BYTES && garbageRatio(v) >= threshold;
    const activeId = this.active?.id;
    const activeInfo = activeId === undefined ? undefined : this.volumes.get(activeId);
    if (activeInfo !== undefined && qualifies(activeInfo)) await this.sealActive();
    const results: CompactionResult[] = [];
    const candidates = [...this.volumes.values()].filter((v) => v.state === 'sealed' && qualifies(v));
    for (const v of candidates) {
      if (this.closed) break;
      results.push(await compactVolume(this, v.id));
    }
    return results;
  }

  /** Seals the active volume; the next write starts a new one. */
  private async sealActive(): Promise<void> {
    await this.runExclusive(async () => {
      const active = this.active;
      if (active === null) return;
      const info = this.volumes.get(active.id);
      if (info === undefined) return;
      const sealed: VolumeInfo = { ...info, state: 'sealed' };
      await this.db.put(volumeKey(active.id), encodeVolumeInfo(sealed), { sync: true });
      this.volumes.set(active.id, sealed);
      this.dirtyVolumes.delete(active.id);
      this.active = null;
      await active.fh.close();
    });
  }

  /** Verifies every record of every volume; reports corrupt shards (repairing them is healing's job). */
  async scrub(onProgress?: (progress: ScrubProgress) => void): Promise<ScrubReport> {
    this.assertOpen();
    return await scrubVolumes(this, onProgress);
  }

  /** @internal The index entry of a shard, or null. */
  async lookup(keyBytes: Buffer): Promise<LiveEntry | null> {
    const value = await this.db.get(liveKey(keyBytes));
    return value === undefined ? null : decodeLiveEntry(value);
  }

  async has(key: ShardKey): Promise<boolean> {
    this.assertOpen();
    return (await this.db.get(liveKey(encodeShardKey(key)))) !== undefined;
  }

  /** Segment count and lengths of a shard, or null when it does not exist. */
  async stat(key: ShardKey): Promise<ShardStat | null> {
    this.assertOpen();
    const entry = await this.lookup(encodeShardKey(key));
    if (entry === null) return null;
    return {
      segments: entry.segments.length,
      segmentLengths: entry.segments.map((s) => s.logicalLength),
      segmentCrcs: entry.segments.map((s) => s.crc),
      bytes: entry.segments.reduce((n, s) => n + s.logicalLength, 0),
      storedBytes: entry.length,
      rsData: entry.rsData,
      rsParity: entry.rsParity,
    };
  }

  /** Reads `count` segments starting at `firstSegment`, each verified against its CRC32C. */
  async readSegments(key: ShardKey, firstSegment: number, count: number): Promise<Buffer[]> {
    this.assertOpen();
    const keyBytes = encodeShardKey(key);
    for (let attempt = 0; attempt < MAX_READ_ATTEMPTS; attempt++) {
      const entry = await this.lookup(keyBytes);
      if (entry === null) throw new ShardNotFoundError(formatShardKey(key));
      const n = entry.segments.length;
      if (!Number.isInteger(firstSegment) || !Number.isInteger(count) || firstSegment < 0 || count < 0) {
        throw new InvalidArgumentError('firstSegment and count must be non-negative integers');
      }
      if (firstSegment + count > n) {
        throw new InvalidArgumentError(
          `segments ${firstSegment}..${firstSegment + count - 1} out of range (shard has ${n})`,
        );
      }
      const fh = await this.readers.acquire(entry.volume);
      if (fh === null) continue; // moved by compaction: look it up again
      try {
        return await readVerified(fh, entry, keyBytes, firstSegment, count);
      } finally {
        this.readers.release(entry.volume);
      }
    }
    throw new StoreIoError(`shard ${formatShardKey(key)} kept moving while being read`);
  }

  async readShard(key: ShardKey): Promise<Buffer> {
    const stat = await this.stat(key);
    if (stat === null) throw new ShardNotFoundError(formatShardKey(key));
    return Buffer.concat(await this.readSegments(key, 0, stat.segments));
  }

  /** Shard keys in key order (version id, chunk, shard), starting after `after`. */
  async list(options: { after?: ShardKey; limit: number }): Promise<ListResult> {
    this.assertOpen();
    const limit = options.limit;
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidArgumentError('limit must be a positive integer');
    const range = tableRange('live');
    const iter =
      options.after === undefined
        ? this.db.keys({ gte: range.gte, lt: range.lt, limit: limit + 1 })
        : this.db.keys({ gt: liveKey(encodeShardKey(options.after)), lt: range.lt, limit: limit + 1 });
    const keys: ShardKey[] = [];
    for await (const k of iter) keys.push(decodeShardKey(k.subarray(1, 1 + SHARD_KEY_BYTES)));
    if (keys.length > limit) {
      keys.length = limit;
      return { keys, next: keys[limit - 1] as ShardKey };
    }
    return { keys };
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const volumes = [...this.volumes.values()]
      .filter((v) => v.state !== 'retired')
      .sort((a, b) => a.id - b.id)
      .map((v) => ({ ...v, garbageRatio: garbageRatio(v) }));
    const fs = await statfs(this.volumesDir);
    return {
      volumes,
      shardCount: volumes.reduce((n, v) => n + v.liveShards, 0),
      liveBytes: volumes.reduce((n, v) => n + v.liveBytes, 0),
      deadBytes: volumes.reduce((n, v) => n + v.deadBytes, 0),
      disk: { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize },
      commits: this.commitCount,
      committedRecords: this.committedRecordCount,
    };
  }

  /** Waits for queued writes, then closes files and the index. Later calls fail with StoreClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.compacting;
    while (this.draining !== null) await this.draining;
    await this.active?.fh.close().catch(() => undefined);
    this.active = null;
    await this.readers.closeAll();
    await this.db.close();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal The active volume's id (compaction leaves it alone). */
  get activeVolumeId(): number | null {
    return this.active?.id ?? null;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
    if (this.failed !== null) throw this.failed;
  }
}

export function garbageRatio(v: Pick<VolumeInfo, 'liveBytes' | 'deadBytes'>): number {
  const total = v.liveBytes + v.deadBytes;
  return total === 0 ? 0 : v.deadBytes / total;
}

async function readVerified(
  fh: FileHandle,
  entry: LiveEntry,
  keyBytes: Buffer,
  first: number,
  count: number,
): Promise<Buffer[]> {
  if (count === 0) return [];
  const offsets = segmentOffsets(entry.segments);
  const payloadStart = entry.offset + RECORD_HEADER_BYTES + entry.segments.length * SEGMENT_ENTRY_BYTES;
  const from = payloadStart + (offsets[first] as number);
  const last = entry.segments[first + count - 1]!;
  const to = payloadStart + (offsets[first + count - 1] as number) + last.storedLength;
  const buf = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, got, buf.byteLength - got, from + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  const out: Buffer[] = [];
  for (let i = first; i < first + count; i++) {
    const seg = entry.segments[i]!;
    const rel = payloadStart + (offsets[i] as number) - from;
    const stored = buf.subarray(rel, Math.min(rel + seg.storedLength, got));
    const result = decodeSegment(stored, seg);
    if (!result.ok) {
      throw new CorruptSegmentError(formatKeyBytes(keyBytes), entry.volume, from + rel, i, result.reason);
    }
    // Uncompressed segments alias the read buffer; that is fine, the buffer belongs to this call.
    out.push(result.data);
  }
  return out;
}

function formatKeyBytes(keyBytes: Buffer): string {
  return formatShardKey(decodeShardKey(keyBytes));
}

/** A record written with placeholder head bytes; its real header and segment table follow its CRCs. */
interface RecordHeadFixup {
  job: PutJob;
  seq: number;
  key: ShardKey;
  volume: number;
  offset: number;
  /** Its index entry, re-encoded once the CRCs are in. */
  liveOp: { op: IndexBatchOp; entry: LiveEntry } | null;
}

/** Header and segment table of a shard record (every segment's CRC must be known). */
function encodeShardRecordHead(job: PutJob, seq: number, key: ShardKey): [Buffer, Buffer] {
  const table = encodeSegmentTable(job.segments.map((s) => s.entry));
  const compressed = job.segments.some((s) => s.entry.compressed);
  const header = encodeRecordHeader({
    kind: RecordKind.SHARD,
    flags: compressed ? RECORD_FLAG_COMPRESSED : 0,
    seq,
    ...key,
    rsData: job.meta.rsData,
    rsParity: job.meta.rsParity,
    segmentCount: job.segments.length,
    payloadLength: job.payloadLength,
    segmentTableCrc: crc32c(table),
  });
  return [header, table];
}

/** CRC32Cs still to compute, in write order. */
class DeferredCrcs {
  private next = 0;
  /** Bytes of the write stream the computed CRCs cover, counting the bytes of pieces handed over so far. */
  private covered = 0;
  private handedOver = 0;
  constructor(private readonly segments: EncodedSegment[]) {}

  /**
   * Called as each piece is being written: computes CRCs until they cover the stream through the end of the
   * next piece. Record heads and small records in the stream count as covered, so this errs towards computing
   * more, never less, than needed.
   */
  computeThrough(pieceBytes: number, nextPieceBytes: number): void {
    const target = this.handedOver + pieceBytes + nextPieceBytes;
    while (this.next < this.segments.length && this.covered < target) {
      const segment = this.segments[this.next++] as EncodedSegment;
      fillSegmentCrc(segment);
      this.covered += segment.stored.byteLength;
    }
    this.handedOver += pieceBytes;
  }

  compute(budgetBytes: number): void {
    let done = 0;
    while (this.next < this.segments.length && done < budgetBytes) {
      const segment = this.segments[this.next++] as EncodedSegment;
      fillSegmentCrc(segment);
      done += segment.stored.byteLength;
    }
  }
}
