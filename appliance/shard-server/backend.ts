// What the shard server needs from the local shard store. The real ShardStore is adapted to this in
// appliance/daemon/store-backend.ts; keeping it narrow lets the server be tested without disks.
import type { NodeStats, WireShardKey } from '../../shared/protocol/messages.ts';

/**
 * One segment's bytes: a buffer, or the buffers that make it up in order (slices of what the transport
 * received, not joined). See ShardBackend.put for how long they stay valid.
 */
export type SegmentBytes = Uint8Array | readonly Uint8Array[];

/** Logical length of one segment given as SegmentBytes. */
export function segmentLength(segment: SegmentBytes): number {
  if (segment instanceof Uint8Array) return segment.byteLength;
  let n = 0;
  for (const part of segment) n += part.byteLength;
  return n;
}

export interface ShardMeta {
  rsData: number;
  rsParity: number;
}

export interface ShardDescription extends ShardMeta {
  /** Logical length of every segment, in order. */
  segmentLengths: number[];
}

export interface ShardListPage {
  entries: Array<ShardDescription & { key: WireShardKey }>;
  /** Set when more shards follow; pass it back as `after`. */
  nextAfter?: WireShardKey;
}

/**
 * Errors thrown by a backend carry a `code` (the store's codes): SHARD_NOT_FOUND, CORRUPT_SEGMENT,
 * CORRUPT_RECORD, DISK_FULL, INVALID_SHARD_KEY, INVALID_ARGUMENT, SEGMENT_TOO_LARGE, STORE_CLOSED, STORE_IO.
 */
export interface ShardBackend {
  /**
   * Durable (fsynced) when it resolves. The segment bytes stay valid and unchanged until the promise settles,
   * and no longer: the server reuses them afterwards, so a backend that keeps them must copy.
   */
  put(key: WireShardKey, meta: ShardMeta, segments: SegmentBytes[]): Promise<void>;
  stat(key: WireShardKey): Promise<ShardDescription>;
  /** Verified logical bytes of segments [first, first + count). */
  readSegments(key: WireShardKey, first: number, count: number): Promise<Uint8Array[]>;
  /** True if the shard existed. */
  delete(key: WireShardKey): Promise<boolean>;
  list(after: WireShardKey | undefined, limit: number): Promise<ShardListPage>;
  stats(): Promise<Omit<NodeStats, 'inflightRequests' | 'uptimeSeconds'>>;
}
