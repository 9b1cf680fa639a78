/**
 * Scrub: reads every record of every volume, verifies header, segment table and every segment's CRC32C, and
 * reports the live shards that are corrupt. Garbage records that are corrupt are only counted.
 */
import { decodeLiveEntry, liveKey, tableRange } from './index-codec.ts';
import type { VolumeInfo } from './index-codec.ts';
import type { IndexDb } from './index-db.ts';
import { RecordKind } from './record-codec.ts';
import { decodeShardKey, encodeShardKey, SHARD_KEY_BYTES } from './shard-key.ts';
import type { ShardKey } from './shard-key.ts';
import type { VolumeReaders } from './volume-readers.ts';
import { scanVolume } from './volume-scanner.ts';

export interface CorruptShard {
  key: ShardKey;
  volume: number;
  /** Offset of the record (or of the damaged region holding it) in the volume. */
  offset: number;
  /** The first segment that failed, when the damage is in the payload. */
  segmentIndex?: number;
  reason: string;
}

export interface ScrubProgress {
  volume: number;
  volumesDone: number;
  volumesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface ScrubReport {
  volumes: number;
  records: number;
  bytes: number;
  corruptShards: CorruptShard[];
  /** Unparseable regions: bad record headers or segment tables. */
  damagedRegions: Array<{ volume: number; offset: number; length: number; reason: string }>;
  /** Corrupt records that are garbage anyway (replaced or deleted shards). */
  corruptGarbageRecords: number;
}

export interface ScrubHost {
  readonly db: IndexDb;
  readonly volumes: Map<number, VolumeInfo>;
  readonly readers: VolumeReaders;
}

export async function scrubVolumes(
  host: ScrubHost,
  onProgress?: (p: ScrubProgress) => void,
): Promise<ScrubReport> {
  const volumes = [...host.volumes.values()].filter((v) => v.state !== 'retired').sort((a, b) => a.id - b.id);
  const bytesTotal = volumes.reduce((n, v) => n + v.committedBytes, 0);
  const report: ScrubReport = {
    volumes: 0,
    records: 0,
    bytes: 0,
    corruptShards: [],
    damagedRegions: [],
    corruptGarbageRecords: 0,
  };
  let bytesDone = 0;
  for (const [i, volume] of volumes.entries()) {
    const fh = await host.readers.acquire(volume.id);
    if (fh === null) continue; // compacted away meanwhile: its live records sit in a newer volume now
    try {
      report.volumes++;
      for await (const item of scanVolume(fh, { verifyPayload: true, end: volume.committedBytes })) {
        if (item.type === 'damage') {
          report.damagedRegions.push({
            volume: volume.id,
            offset: item.offset,
            length: item.length,
            reason: item.reason,
          });
          continue;
        }
        if (item.type === 'end') {
          if (item.tail) {
            report.damagedRegions.push({
              volume: volume.id,
              offset: item.tail.offset,
              length: volume.committedBytes - item.tail.offset,
              reason: item.tail.reason,
            });
          }
          continue;
        }
        report.records++;
        report.bytes += item.length;
        if (item.payload === 'ok' || item.payload === 'unchecked' || item.header.kind !== RecordKind.SHARD)
          continue;
        const keyBytes = encodeShardKey(item.header);
        const value = await host.db.get(liveKey(keyBytes));
        const live = value === undefined ? null : decodeLiveEntry(value);
        if (live !== null && live.volume === volume.id && live.offset === item.offset) {
          report.corruptShards.push({
            key: decodeShardKey(keyBytes),
            volume: volume.id,
            offset: item.offset,
            segmentIndex: item.payload.badSegment,
            reason: item.payload.reason,
          });
        } else {
          report.corruptGarbageRecords++;
        }
      }
    } finally {
      host.readers.release(volume.id);
    }
    bytesDone += volume.committedBytes;
    onProgress?.({
      volume: volume.id,
      volumesDone: i + 1,
      volumesTotal: volumes.length,
      bytesDone,
      bytesTotal,
    });
  }
  // Live shards whose record header sat in a damaged region were not seen above: find them through the index.
  if (report.damagedRegions.length > 0) {
    const range = tableRange('live');
    for await (const [key, value] of host.db.iterator({ gte: range.gte, lt: range.lt })) {
      const live = decodeLiveEntry(value);
      const hit = report.damagedRegions.find(
        (d) => d.volume === live.volume && live.offset >= d.offset && live.offset < d.offset + d.length,
      );
      if (hit !== undefined) {
        report.corruptShards.push({
          key: decodeShardKey(key.subarray(1, 1 + SHARD_KEY_BYTES)),
          volume: live.volume,
          offset: live.offset,
          reason: `record header or segment table damaged: ${hit.reason}`,
        });
      }
    }
  }
  return report;
}
