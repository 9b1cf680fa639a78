/**
 * Typed errors of the shard store. Every error carries a stable `code` string so the shard protocol can map
 * it to a wire status without matching on messages or classes.
 */

export type StoreErrorCode =
  | 'SHARD_NOT_FOUND'
  | 'CORRUPT_SEGMENT'
  | 'CORRUPT_RECORD'
  | 'RECORD_FORMAT'
  | 'DISK_FULL'
  | 'INVALID_SHARD_KEY'
  | 'INVALID_ARGUMENT'
  | 'SEGMENT_TOO_LARGE'
  | 'STORE_CLOSED'
  | 'STORE_IO';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ShardNotFoundError extends StoreError {
  constructor(readonly key: string) {
    super('SHARD_NOT_FOUND', `shard ${key} not found`);
  }
}

/** A segment whose stored bytes do not match its CRC32C (or cannot be decompressed). Never returned as data. */
export class CorruptSegmentError extends StoreError {
  constructor(
    readonly key: string,
    readonly volume: number,
    /** Byte offset of the segment's stored bytes inside the volume file. */
    readonly offset: number,
    readonly segmentIndex: number,
    readonly reason: string,
  ) {
    super(
      'CORRUPT_SEGMENT',
      `corrupt segment ${segmentIndex} of shard ${key} in volume ${volume} at offset ${offset}: ${reason}`,
    );
  }
}

/** A record header or segment table on disk that fails its checks. */
export class CorruptRecordError extends StoreError {
  constructor(
    readonly volume: number,
    readonly offset: number,
    readonly reason: string,
  ) {
    super('CORRUPT_RECORD', `corrupt record in volume ${volume} at offset ${offset}: ${reason}`);
  }
}

/** Bytes that do not decode as a record or volume header (the pure codec's error). */
export class RecordFormatError extends StoreError {
  constructor(
    readonly reason: string,
    /** True when the bytes end before the structure does (a torn tail rather than garbage). */
    readonly truncated = false,
  ) {
    super('RECORD_FORMAT', reason);
  }
}

export class DiskFullError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DISK_FULL', message, options);
  }
}

export class InvalidShardKeyError extends StoreError {
  constructor(reason: string) {
    super('INVALID_SHARD_KEY', `invalid shard key: ${reason}`);
  }
}

export class InvalidArgumentError extends StoreError {
  constructor(reason: string) {
    super('INVALID_ARGUMENT', reason);
  }
}

export class SegmentTooLargeError extends StoreError {
  constructor(
    readonly segmentIndex: number,
    readonly length: number,
    readonly limit: number,
  ) {
    super('SEGMENT_TOO_LARGE', `segment ${segmentIndex} is ${length} bytes; the limit is ${limit}`);
  }
}

export class StoreClosedError extends StoreError {
  constructor() {
    super('STORE_CLOSED', 'the shard store is closed');
  }
}

/** An I/O failure other than a full disk (permissions, EIO, ...). */
export class StoreIoError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_IO', message, options);
  }
}

export function isNodeError(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Maps an fs error to a store error: ENOSPC/EDQUOT become DiskFullError. */
export function toStoreIoError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  if (isNodeError(err, 'ENOSPC') || isNodeError(err, 'EDQUOT')) {
    return new DiskFullError(`disk full while ${what}`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StoreIoError(`${what}: ${message}`, { cause: err });
}
