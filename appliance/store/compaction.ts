/**
 * Compaction: rewrites a sealed volume's live records (and the tombstones still needed) into a new volume,
 * switches the index to the copies in one synced LevelDB batch, then removes the old file.
 *
 * Crash safety: before the switch the new volume is not in the index, so open() deletes it as an orphan and
 * the old volume is still the truth; after the switch the old volume is marked retired in the same batch, so
 * open() finishes its removal. Records keep their sequence numbers when copied, so an index rebuild that sees
 * both copies picks the same winner for every key.
 */
import type { FileHandle } from 'node:fs/promises';
import { StoreIoError, toStoreIoError } from './errors.ts';
import {
  deadKey,
  deadRange,
  decodeLiveEntry,
  decodeLocation,
  encodeLiveEntry,
  encodeLocation,
  encodeVolumeInfo,
  liveKey,
  parseDeadKey,
  tombKey,
  volumeKey,
} from './index-codec.ts';
import type { RecordLocation, VolumeInfo } from './index-codec.ts';
import type { IndexBatchOp, IndexDb } from './index-db.ts';
import { RecordKind, VOLUME_HEADER_BYTES } from './record-codec.ts';
import { encodeShardKey } from './shard-key.ts';
import { createVolumeFile, fsyncDir, removeFileIfExists, volumePath } from './volume-files.ts';
import type { VolumeReaders } from './volume-readers.ts';
import { scanVolume } from './volume-scanner.ts';

/** What compaction needs from the store. */
export interface CompactionHost {
  readonly db: IndexDb;
  readonly volumes: Map<number, VolumeInfo>;
  readonly readers: VolumeReaders;
  readonly volumesDir: string;
  allocateVolumeId(): number;
  runExclusive(run: () => Promise<void>): Promise<void>;
}

export interface CompactionResult {
  volume: number;
  /** The volume the live records moved to, or null when nothing was live. */
  into: number | null;
  movedRecords: number;
  reclaimedBytes: number;
  /** Why the volume was left alone (damaged records: healing must restore them first). */
  skipped?: string;
}

interface Moved {
  kind: RecordKind;
  keyBytes: Buffer;
  oldOffset: number;
  newOffset: number;
  length: number;
  seq: number;
}

const WRITE_CHUNK = 8 * 1024 * 1024;

function sameLocation(loc: RecordLocation, volume: number, offset: number): boolean {
  return loc.volume === volume && loc.offset === offset;
}

/** True when a dead shard record of `keyBytes` exists in a volume other than `exceptVolume`. */
async function hasDeadElsewhere(db: IndexDb, keyBytes: Buffer, exceptVolume: number): Promise<boolean> {
  for await (const k of db.keys(deadRange(keyBytes))) {
    if (parseDeadKey(k).volume !== exceptVolume) return true;
  }
  return false;
}

export async function compactVolume(host: CompactionHost, volume: number): Promise<CompactionResult> {
  const source = host.volumes.get(volume);
  if (source === undefined || source.state !== 'sealed') {
    throw new StoreIoError(`volume ${volume} is not a sealed volume`);
  }
  const fh = await host.readers.acquire(volume);
  if (fh === null) throw new StoreIoError(`volume ${volume} is gone`);
  let target: { id: number; fh: FileHandle; tail: number } | null = null;
  const moved: Moved[] = [];
  const deadShards: Array<{ keyBytes: Buffer; offset: number }> = [];
  const droppedTombs: Array<{ keyBytes: Buffer; offset: number }> = [];
  let skipped: string | undefined;
  try {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (): Promise<void> => {
      if (target === null || pending.length === 0) return;
      const start = target.tail - pendingBytes;
      const { bytesWritten } = await target.fh.writev(pending, start);
      if (bytesWritten !== pendingBytes)
        throw new StoreIoError(`short write while compacting volume ${volume}`);
      pending = [];
      pendingBytes = 0;
    };
    for await (const item of scanVolume(fh, { raw: true, end: source.committedBytes })) {
      if (item.type === 'damage' || (item.type === 'end' && item.tail !== undefined)) {
        // Records hidden in a damaged region could not be moved; switching now would orphan them.
        skipped = `damaged region at offset ${item.type === 'damage' ? item.offset : item.tail?.offset}`;
        break;
      }
      if (item.type !== 'record') continue;
      const keyBytes = encodeShardKey(item.header);
      let keep: boolean;
      if (item.header.kind === RecordKind.SHARD) {
        const live = await host.db.get(liveKey(keyBytes));
        keep = live !== undefined && sameLocation(decodeLiveEntry(live), volume, item.offset);
        if (!keep) deadShards.push({ keyBytes, offset: item.offset });
      } else {
        const tomb = await host.db.get(tombKey(keyBytes));
        keep =
          tomb !== undefined &&
          sameLocation(decodeLocation(tomb), volume, item.offset) &&
          (await hasDeadElsewhere(host.db, keyBytes, volume));
        if (!keep) droppedTombs.push({ keyBytes, offset: item.offset });
      }
      if (!keep) continue;
      if (target === null) {
        const id = host.allocateVolumeId();
        target = { id, fh: await createVolumeFile(host.volumesDir, id), tail: VOLUME_HEADER_BYTES };
      }
      moved.push({
        kind: item.header.kind,
        keyBytes,
        oldOffset: item.offset,
        newOffset: target.tail,
        length: item.length,
        seq: item.header.seq,
      });
      pending.push(item.raw as Buffer);
      pendingBytes += item.length;
      target.tail += item.length;
      if (pendingBytes >= WRITE_CHUNK) await flush();
    }
    await flush();
    if (target !== null) await target.fh.datasync();
  } catch (err) {
    if (target !== null) {
      await target.fh.close().catch(() => undefined);
      await removeFileIfExists(volumePath(host.volumesDir, target.id)).catch(() => undefined);
    }
    throw toStoreIoError(err, `compacting volume ${volume}`);
  } finally {
    host.readers.release(volume);
  }
  const into = target;
  if (into !== null) await into.fh.close();
  if (skipped !== undefined) {
    if (into !== null) await removeFileIfExists(volumePath(host.volumesDir, into.id));
    return { volume, into: null, movedRecords: 0, reclaimedBytes: 0, skipped };
  }

  await host.runExclusive(async () => {
    const ops: IndexBatchOp[] = [];
    const changed = new Map<number, VolumeInfo>();
    const infoOf = (id: number): VolumeInfo | undefined => {
      let v = changed.get(id);
      if (v === undefined) {
        const known = host.volumes.get(id);
        if (known === undefined) return undefined;
        v = { ...known };
        changed.set(id, v);
      }
      return v;
    };
    const fresh: VolumeInfo | null =
      into === null
        ? null
        : {
            id: into.id,
            state: 'sealed',
            committedBytes: into.tail,
            liveBytes: 0,
            deadBytes: 0,
            liveShards: 0,
          };
    const newDead = new Set<string>();
    const touchedKeys = new Map<string, Buffer>();
    for (const d of deadShards) {
      ops.push({ type: 'del', key: deadKey(d.keyBytes, volume, d.offset) });
      touchedKeys.set(d.keyBytes.toString('hex'), d.keyBytes);
    }
    for (const m of moved) {
      if (fresh === null) break;
      if (m.kind === RecordKind.SHARD) {
        const value = await host.db.get(liveKey(m.keyBytes));
        const live = value === undefined ? null : decodeLiveEntry(value);
        if (live !== null && sameLocation(live, volume, m.oldOffset)) {
          ops.push({
            type: 'put',
            key: liveKey(m.keyBytes),
            value: encodeLiveEntry({ ...live, volume: fresh.id, offset: m.newOffset }),
          });
          fresh.liveBytes += m.length;
          fresh.liveShards += 1;
        } else {
          // Replaced or deleted while being copied: the copy is garbage, and still an older record of its key.
          ops.push({ type: 'del', key: deadKey(m.keyBytes, volume, m.oldOffset) });
          ops.push({ type: 'put', key: deadKey(m.keyBytes, fresh.id, m.newOffset), value: Buffer.alloc(0) });
          newDead.add(m.keyBytes.toString('hex'));
          fresh.deadBytes += m.length;
        }
      } else {
        const value = await host.db.get(tombKey(m.keyBytes));
        const tomb = value === undefined ? null : decodeLocation(value);
        if (tomb !== null && sameLocation(tomb, volume, m.oldOffset)) {
          ops.push({
            type: 'put',
            key: tombKey(m.keyBytes),
            value: encodeLocation({ ...tomb, volume: fresh.id, offset: m.newOffset }),
          });
          fresh.liveBytes += m.length;
        } else {
          fresh.deadBytes += m.length;
        }
      }
    }
    if (fresh !== null) changed.set(fresh.id, fresh);
    for (const t of droppedTombs) {
      const value = await host.db.get(tombKey(t.keyBytes));
      if (value !== undefined && sameLocation(decodeLocation(value), volume, t.offset)) {
        ops.push({ type: 'del', key: tombKey(t.keyBytes) });
      }
    }
    // A tombstone whose key has no older record left anywhere shadows nothing any more: it becomes garbage.
    for (const [hex, keyBytes] of touchedKeys) {
      if (newDead.has(hex) || (await hasDeadElsewhere(host.db, keyBytes, volume))) continue;
      const value = await host.db.get(tombKey(keyBytes));
      if (value === undefined) continue;
      let tomb = decodeLocation(value);
      const movedTomb = moved.find((m) => m.kind === RecordKind.TOMBSTONE && m.keyBytes.equals(keyBytes));
      if (tomb.volume === volume && movedTomb !== undefined && fresh !== null) {
        tomb = { ...tomb, volume: fresh.id, offset: movedTomb.newOffset };
      }
      if (tomb.volume === volume) continue; // not copied: goes away with this volume
      ops.push({ type: 'del', key: tombKey(keyBytes) });
      const holder = infoOf(tomb.volume);
      if (holder !== undefined) {
        holder.liveBytes -= tomb.length;
        holder.deadBytes += tomb.length;
      }
    }
    const retired: VolumeInfo = { ...source, ...(host.volumes.get(volume) ?? {}), state: 'retired' };
    changed.set(volume, retired);
    for (const v of changed.values())
      ops.push({ type: 'put', key: volumeKey(v.id), value: encodeVolumeInfo(v) });
    await host.db.batch(ops, { sync: true });
    for (const v of changed.values()) host.volumes.set(v.id, v);
    host.readers.retire(volume);
  });

  await removeFileIfExists(volumePath(host.volumesDir, volume));
  await fsyncDir(host.volumesDir);
  await host.db.del(volumeKey(volume), { sync: true });
  host.volumes.delete(volume);
  const liveAfter = into === null ? 0 : (host.volumes.get(into.id)?.liveBytes ?? 0);
  return {
    volume,
    into: into?.id ?? null,
    movedRecords: moved.length,
    reclaimedBytes: source.committedBytes - VOLUME_HEADER_BYTES - liveAfter,
  };
}
