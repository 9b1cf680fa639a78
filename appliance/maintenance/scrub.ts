// Scrub findings → repair tasks: runs this appliance's store scrub (every segment's CRC re-read),
// finds the object chunk of each corrupt shard (one scan of the object records) and queues a repair
// task for it; the healer then rebuilds the shard from k good ones.
import { TABLES, repairKey } from '../../shared/metadata/keys.ts';
import { encodeRepairRecord } from '../../shared/metadata/records.ts';
import type { RepairRecord } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { ScrubProgress, ScrubReport } from '../store/index.ts';
import { findOwners, locationKey } from './object-scan.ts';
import type { MaintenanceStats } from './stats.ts';

export interface ScrubDeps {
  store: { scrub(onProgress?: (p: ScrubProgress) => void): Promise<ScrubReport> };
  db: Pick<S3dbClient, 'scan' | 'put'>;
  stats: MaintenanceStats;
  log(line: string): void;
}

export interface ScrubOutcome {
  volumes: number;
  bytes: number;
  corruptShards: number;
  /** Repair tasks queued (one per damaged chunk). */
  repairsQueued: number;
  /** Corrupt shards no live object owns (garbage or orphans: the garbage worker / orphan sweep remove them). */
  unowned: number;
  damagedRegions: number;
}

export async function scrubAndQueue(
  deps: ScrubDeps,
  onProgress?: (p: ScrubProgress) => void,
): Promise<ScrubOutcome> {
  const report = await deps.store.scrub(onProgress);
  const versions = new Set(report.corruptShards.map((c) => Buffer.from(c.key.versionId).toString('hex')));
  const owners = await findOwners(deps.db, versions);
  const tasks = new Map<string, RepairRecord>();
  let unowned = 0;
  for (const corrupt of report.corruptShards) {
    const owner = owners.get(
      locationKey(Buffer.from(corrupt.key.versionId).toString('hex'), corrupt.key.chunkIndex),
    );
    if (owner === undefined) {
      unowned++;
      continue;
    }
    const id = `${owner.versionId}:${owner.chunkIndex}`;
    const task = tasks.get(id) ?? {
      v: 1 as const,
      bucket: owner.bucket,
      key: owner.key,
      versionId: owner.versionId,
      chunkIndex: owner.chunkIndex,
      shards: [],
      reason: 'corrupt' as const,
      created: Date.now(),
    };
    if (!task.shards.includes(corrupt.key.shardIndex)) task.shards.push(corrupt.key.shardIndex);
    tasks.set(id, task);
  }
  for (const task of tasks.values()) {
    await deps.db.put(
      TABLES.repair,
      repairKey(Buffer.from(task.versionId, 'hex'), task.chunkIndex),
      encodeRepairRecord(task),
    );
    deps.log(
      `scrub: ${task.bucket}/${task.key} chunk ${task.chunkIndex}: shard(s) ${task.shards.join(',')} corrupt, repair queued`,
    );
  }
  const s = deps.stats.scrub;
  s.runs++;
  s.bytesScrubbed += report.bytes;
  s.corruptShards += report.corruptShards.length;
  s.repairsQueued += tasks.size;
  s.lastRunAt = Date.now();
  return {
    volumes: report.volumes,
    bytes: report.bytes,
    corruptShards: report.corruptShards.length,
    repairsQueued: tasks.size,
    unowned,
    damagedRegions: report.damagedRegions.length,
  };
}
