/**
 * Rebuilds the LevelDB index from the volume files (spec §6 "Local KV Rebuild"). The new index is written to
 * a side directory and renamed into place, so a crash during rebuild leaves no half-built index behind.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { IndexPlanner } from './index-plan.ts';
import {
  INDEX_FORMAT,
  deadKey,
  encodeLiveEntry,
  encodeLocation,
  encodeU64,
  encodeVolumeInfo,
  liveKey,
  metaKey,
  tombKey,
  volumeKey,
} from './index-codec.ts';
import { createIndexDb } from './index-db.ts';
import type { IndexBatchOp } from './index-db.ts';
import { VOLUME_HEADER_BYTES, decodeVolumeHeader } from './record-codec.ts';
import { fsyncDir, listVolumeIds, volumePath } from './volume-files.ts';
import { scanVolume } from './volume-scanner.ts';
import type { ScannedRecord } from './volume-scanner.ts';
import { encodeShardKey } from './shard-key.ts';

export interface RebuildReport {
  volumes: number;
  records: number;
  liveShards: number;
  tombstones: number;
  /** Volumes cut back because their tail held a torn or unreadable record. */
  truncated: Array<{ volume: number; offset: number; bytes: number; reason: string }>;
  /** Regions skipped inside volumes (bad headers); scrub and healing deal with the shards they held. */
  damaged: Array<{ volume: number; offset: number; length: number; reason: string }>;
  /** Volume files removed because they are shorter than a volume header (crash while creating them). */
  unreadableVolumes: number[];
}

const BATCH_OPS = 5000;

async function scanOneVolume(
  path: string,
  volume: number,
  planner: IndexPlanner,
  report: RebuildReport,
): Promise<'ok' | 'unreadable'> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    if (size < VOLUME_HEADER_BYTES) return 'unreadable';
    let last: ScannedRecord | null = null;
    let validEnd = VOLUME_HEADER_BYTES;
    let tailReason: string | undefined;
    const accept = (r: ScannedRecord): void => {
      report.records++;
      planner.add({
        keyBytes: encodeShardKey(r.header),
        kind: r.header.kind,
        seq: r.header.seq,
        volume,
        offset: r.offset,
        length: r.length,
        rsData: r.header.rsData,
        rsParity: r.header.rsParity,
        segments: r.segments,
      });
    };
    const vh = Buffer.alloc(VOLUME_HEADER_BYTES);
    await fh.read(vh, 0, VOLUME_HEADER_BYTES, 0);
    try {
      decodeVolumeHeader(vh);
    } catch (err) {
      // Records describe themselves, so a damaged volume header loses nothing: note it and scan on.
      const reason = err instanceof Error ? err.message : String(err);
      report.damaged.push({ volume, offset: 0, length: VOLUME_HEADER_BYTES, reason });
    }
    for await (const item of scanVolume(fh, { start: VOLUME_HEADER_BYTES })) {
      if (item.type === 'record') {
        if (last) accept(last);
        last = item;
      } else if (item.type === 'damage') {
        report.damaged.push({ volume, offset: item.offset, length: item.length, reason: item.reason });
      } else {
        validEnd = item.validEnd;
        tailReason = item.tail?.reason;
      }
    }
    if (last) {
      // The last record may have been cut short by a crash with its length intact (lost page cache on power
      // loss): check its payload, and drop it if it does not verify.
      let payloadOk = true;
      for await (const item of scanVolume(fh, {
        start: last.offset,
        end: last.offset + last.length,
        verifyPayload: true,
      })) {
        if (item.type === 'record' && item.payload !== 'ok') {
          payloadOk = false;
          tailReason = `torn last record: ${item.payload === 'unchecked' ? 'unchecked' : item.payload.reason}`;
        }
      }
      if (payloadOk) accept(last);
      else validEnd = last.offset;
    }
    if (validEnd < size) {
      await fh.truncate(validEnd);
      await fh.sync();
      report.truncated.push({
        volume,
        offset: validEnd,
        bytes: size - validEnd,
        reason: tailReason ?? 'tail',
      });
    }
    planner.addVolume(volume, validEnd);
    return 'ok';
  } finally {
    await fh.close();
  }
}

/** Scans every volume in `volumesDir` and writes a fresh index at `indexDir` (replacing whatever is there). */
export async function rebuildIndex(volumesDir: string, indexDir: string): Promise<RebuildReport> {
  const report: RebuildReport = {
    volumes: 0,
    records: 0,
    liveShards: 0,
    tombstones: 0,
    truncated: [],
    damaged: [],
    unreadableVolumes: [],
  };
  const planner = new IndexPlanner();
  for (const id of await listVolumeIds(volumesDir)) {
    const path = volumePath(volumesDir, id);
    const outcome = await scanOneVolume(path, id, planner, report);
    if (outcome === 'unreadable') {
      report.unreadableVolumes.push(id);
      await rm(path);
      continue;
    }
    report.volumes++;
  }
  await fsyncDir(volumesDir);
  const plan = planner.finish();
  report.liveShards = plan.live.length;
  report.tombstones = plan.tombstones.length;

  const building = `${indexDir}.rebuild`;
  await rm(building, { recursive: true, force: true });
  const db = createIndexDb(building);
  await db.open();
  try {
    let ops: IndexBatchOp[] = [];
    const flush = async (sync: boolean): Promise<void> => {
      await db.batch(ops, { sync });
      ops = [];
    };
    const add = async (op: IndexBatchOp): Promise<void> => {
      ops.push(op);
      if (ops.length >= BATCH_OPS) await flush(false);
    };
    for (const { keyBytes, entry } of plan.live) {
      await add({ type: 'put', key: liveKey(keyBytes), value: encodeLiveEntry(entry) });
    }
    for (const { keyBytes, location } of plan.tombstones) {
      await add({ type: 'put', key: tombKey(keyBytes), value: encodeLocation(location) });
    }
    for (const dead of plan.deadShards) {
      await add({
        type: 'put',
        key: deadKey(dead.keyBytes, dead.volume, dead.offset),
        value: Buffer.alloc(0),
      });
    }
    for (const info of plan.volumes) {
      await add({ type: 'put', key: volumeKey(info.id), value: encodeVolumeInfo(info) });
    }
    ops.push({ type: 'put', key: metaKey('seq'), value: encodeU64(plan.nextSeq) });
    // Written last: an index without it is treated as incomplete and rebuilt again.
    ops.push({ type: 'put', key: metaKey('format'), value: encodeU64(INDEX_FORMAT) });
    await flush(true);
  } finally {
    await db.close();
  }
  await rm(indexDir, { recursive: true, force: true });
  await rename(building, indexDir);
  await fsyncDir(dirname(indexDir));
  return report;
}
