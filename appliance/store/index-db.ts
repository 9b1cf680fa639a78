/** Opening the LevelDB index, telling "damaged" from "in use". */
import { Level } from 'level';

export type IndexDb = Level<Buffer, Buffer>;
export type IndexBatchOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export function createIndexDb(location: string): IndexDb {
  return new Level<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
}

/** True when the open failed because another process (or instance) holds the index. */
export function isLockedError(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED';
}
