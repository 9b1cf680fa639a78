/** Public API of the appliance shard store. */
export { ShardStore, garbageRatio } from './shard-store.ts';
export type {
  ShardStoreOptions,
  ShardMeta,
  PutResult,
  PutOptions,
  ShardStat,
  ListResult,
  StoreStats,
  VolumeStats,
  OpenReport,
} from './shard-store.ts';
export type { ShardKey } from './shard-key.ts';
export {
  encodeShardKey,
  decodeShardKey,
  formatShardKey,
  validateShardKey,
  VERSION_ID_BYTES,
} from './shard-key.ts';
export type { Compression } from './segment-codec.ts';
export type { SegmentInput } from './segment-staging.ts';
export { MAX_SEGMENT_BYTES } from './record-codec.ts';
export type { RebuildReport } from './index-rebuild.ts';
export type { CompactionResult } from './compaction.ts';
export type { ScrubReport, ScrubProgress, CorruptShard } from './scrub.ts';
export {
  StoreError,
  ShardNotFoundError,
  CorruptSegmentError,
  CorruptRecordError,
  RecordFormatError,
  DiskFullError,
  InvalidShardKeyError,
  InvalidArgumentError,
  SegmentTooLargeError,
  StoreClosedError,
  StoreIoError,
} from './errors.ts';
export type { StoreErrorCode } from './errors.ts';
