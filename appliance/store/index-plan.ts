/**
 * Decides, from every record found in the volumes, what the index must say (pure; used by index rebuild).
 * Per shard key the record with the highest sequence number wins. A winning shard record is live; a winning
 * tombstone is kept (counted live) only while older shard records of the key still exist on disk, because
 * dropping it then would resurrect them at the next rebuild. Every other record is garbage.
 */
import { RecordKind } from './record-codec.ts';
import type { SegmentEntry } from './record-codec.ts';
import type { LiveEntry, RecordLocation, VolumeInfo } from './index-codec.ts';

export interface FoundRecord extends RecordLocation {
  keyBytes: Buffer;
  kind: RecordKind;
  rsData: number;
  rsParity: number;
  segments: SegmentEntry[];
}

export interface DeadShardRecord {
  keyBytes: Buffer;
  volume: number;
  offset: number;
}

export interface IndexPlan {
  live: Array<{ keyBytes: Buffer; entry: LiveEntry }>;
  tombstones: Array<{ keyBytes: Buffer; location: RecordLocation }>;
  deadShards: DeadShardRecord[];
  volumes: VolumeInfo[];
  nextSeq: number;
}

interface KeyState {
  newest: FoundRecord;
  olderShards: number;
}

function wins(a: FoundRecord, b: FoundRecord): boolean {
  // Equal sequence numbers are copies made by compaction: prefer the newer volume.
  return a.seq > b.seq || (a.seq === b.seq && a.volume > b.volume);
}

export class IndexPlanner {
  private readonly keys = new Map<string, KeyState>();
  private readonly deadShards: DeadShardRecord[] = [];
  private readonly totals = new Map<number, { bytes: number }>();
  private readonly volumeEnds = new Map<number, number>();
  private maxSeq = -1;

  /** Registers a volume (even an empty one) with its valid length. */
  addVolume(volume: number, validEnd: number): void {
    if (!this.totals.has(volume)) this.totals.set(volume, { bytes: 0 });
    this.volumeEnds.set(volume, validEnd);
  }

  add(record: FoundRecord): void {
    this.maxSeq = Math.max(this.maxSeq, record.seq);
    const total = this.totals.get(record.volume) ?? { bytes: 0 };
    total.bytes += record.length;
    this.totals.set(record.volume, total);
    const id = record.keyBytes.toString('hex');
    const state = this.keys.get(id);
    if (state === undefined) {
      this.keys.set(id, { newest: record, olderShards: 0 });
      return;
    }
    const loser = wins(record, state.newest) ? state.newest : record;
    if (loser === state.newest) state.newest = record;
    if (loser.kind === RecordKind.SHARD) {
      state.olderShards++;
      this.deadShards.push({ keyBytes: loser.keyBytes, volume: loser.volume, offset: loser.offset });
    }
  }

  finish(): IndexPlan {
    const liveBytes = new Map<number, number>();
    const liveShards = new Map<number, number>();
    const live: IndexPlan['live'] = [];
    const tombstones: IndexPlan['tombstones'] = [];
    for (const { newest, olderShards } of this.keys.values()) {
      const location: RecordLocation = {
        volume: newest.volume,
        offset: newest.offset,
        length: newest.length,
        seq: newest.seq,
      };
      if (newest.kind === RecordKind.SHARD) {
        live.push({
          keyBytes: newest.keyBytes,
          entry: { ...location, rsData: newest.rsData, rsParity: newest.rsParity, segments: newest.segments },
        });
        liveShards.set(newest.volume, (liveShards.get(newest.volume) ?? 0) + 1);
      } else if (olderShards > 0) {
        tombstones.push({ keyBytes: newest.keyBytes, location });
      } else {
        continue;
      }
      liveBytes.set(newest.volume, (liveBytes.get(newest.volume) ?? 0) + newest.length);
    }
    const volumes: VolumeInfo[] = [...this.totals.entries()]
      .sort(([a], [b]) => a - b)
      .map(([id, { bytes }]) => {
        const live = liveBytes.get(id) ?? 0;
        return {
          id,
          state: 'sealed',
          committedBytes: this.volumeEnds.get(id) ?? 0,
          liveBytes: live,
          deadBytes: bytes - live,
          liveShards: liveShards.get(id) ?? 0,
        };
      });
    return { live, tombstones, deadShards: this.deadShards, volumes, nextSeq: this.maxSeq + 1 };
  }
}
