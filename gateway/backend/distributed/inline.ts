// Small objects stored inline in their s3db record (docs/perf.md, "Inline small objects"): the PUT
// reads the whole (bounded) body, the record carries the bytes, and no shard is written or read.
// The object is exactly as durable as its record (same Raft replicas), and one Raft commit replaces
// k+m fsynced shard writes; the cost is a larger record in s3db (log, state machine, list pages).
import { BodyReader, DataPathError } from '../../../shared/datapath/index.ts';
import type { InclusiveRange } from '../../../shared/datapath/index.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';

/**
 * Default `[gateway] inline_max_bytes`. At or below one 4 KiB page an erasure-coded object still
 * costs k+m shard records (each at least a page written and fsynced, plus an index update) on
 * k+m appliances, more device writes than 3 Raft copies of a ~6 KiB record; above a few pages
 * the RS path's (k+m)/k overhead wins on bytes. See docs/perf.md for the numbers.
 */
export const DEFAULT_INLINE_MAX_BYTES = 4096;

/** Largest value `[gateway] inline_max_bytes` accepts (keeps records and list pages bounded). */
export const INLINE_LIMIT = 65536;

/** Whether a PUT of `size` declared bytes is stored inline under `maxBytes`. */
export function storesInline(size: number | undefined, maxBytes: number): boolean {
  return size !== undefined && size > 0 && size <= Math.min(maxBytes, INLINE_LIMIT);
}

export interface InlineBody {
  bytes: Buffer;
  md5: Buffer;
}

/** Reads a body of exactly `size` bytes (≤ INLINE_LIMIT); DataPathError when it is shorter or longer. */
export async function readInlineBody(body: AsyncIterable<Buffer>, size: number): Promise<InlineBody> {
  if (size > INLINE_LIMIT)
    throw new DataPathError('BAD_SIZE', `an inline body holds at most ${INLINE_LIMIT} bytes, got ${size}`);
  const reader = new BodyReader(body, size);
  const bytes = Buffer.allocUnsafe(size);
  try {
    const got = await reader.fill(bytes, 0, size);
    if (got < size || (await reader.hasMore())) {
      // fill/hasMore throw BODY_TOO_SHORT / BODY_TOO_LONG against the declared size first.
      throw new DataPathError('BODY_TOO_SHORT', `request body ended after ${got} of ${size} bytes`);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }
  return { bytes, md5: reader.md5() };
}

/** The object's bytes when its record stores them inline. */
export function inlineBytes(record: Pick<ObjectRecord, 'inline'>): Buffer | undefined {
  return record.inline === undefined ? undefined : Buffer.from(record.inline, 'base64');
}

/** Reads an inline object (or a range of it): one piece, no shard requests. */
export function readInline(
  bytes: Buffer,
  range: InclusiveRange | undefined,
): { first: Promise<void>; body: AsyncIterable<Buffer> } {
  const piece = range === undefined ? bytes : bytes.subarray(range.start, range.end + 1);
  return {
    first: Promise.resolve(),
    body: (async function* () {
      if (piece.length > 0) yield piece;
    })(),
  };
}
