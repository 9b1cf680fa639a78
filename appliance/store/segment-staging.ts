/**
 * Copies the segments of one put into a few growing buffers instead of one allocation per segment.
 * The caller may reuse its buffers once a segment is handed over, so a copy is needed; 128 separate 64 KiB
 * allocations per 8 MiB shard cost about twice the time of one growing run of chunks (measured on Node 20).
 */
/** One segment handed to put(): a buffer, or the buffers it is made of, in order. */
export type SegmentInput = Uint8Array | readonly Uint8Array[];

/** Byte length of a segment input; -1 if it is neither a Uint8Array nor an array of them. */
export function segmentInputLength(segment: unknown): number {
  if (segment instanceof Uint8Array) return segment.byteLength;
  if (!Array.isArray(segment)) return -1;
  let n = 0;
  for (const part of segment as unknown[]) {
    if (!(part instanceof Uint8Array)) return -1;
    n += part.byteLength;
  }
  return n;
}

const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

export class SegmentStaging {
  private chunk: Buffer | null = null;
  private used = 0;
  private copied = 0;

  /** Returns a private copy of `data` (one buffer, or the parts of one segment in order, joined). */
  copy(data: Uint8Array | readonly Uint8Array[]): Buffer {
    const parts = data instanceof Uint8Array ? [data] : data;
    let size = 0;
    for (const part of parts) size += part.byteLength;
    if (this.chunk === null || this.chunk.byteLength - this.used < size) {
      // The first chunk is exactly the first segment (small shards stay small); later ones double up to 8 MiB.
      const next = Math.max(size, Math.min(MAX_CHUNK_BYTES, this.copied));
      this.chunk = Buffer.allocUnsafeSlow(next);
      this.used = 0;
    }
    const at = this.used;
    for (const part of parts) {
      this.chunk.set(part, this.used);
      this.used += part.byteLength;
    }
    this.copied += size;
    return this.chunk.subarray(at, at + size);
  }
}
