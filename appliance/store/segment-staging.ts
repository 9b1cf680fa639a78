/**
 * Copies the segments of one put into a few growing buffers instead of one allocation per segment.
 * The caller may reuse its buffers once a segment is handed over, so a copy is needed; 128 separate 64 KiB
 * allocations per 8 MiB shard cost about twice the time of one growing run of chunks (measured on Node 20).
 */
const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

export class SegmentStaging {
  private chunk: Buffer | null = null;
  private used = 0;
  private copied = 0;

  /** Returns a private copy of `data`. */
  copy(data: Uint8Array): Buffer {
    const size = data.byteLength;
    if (this.chunk === null || this.chunk.byteLength - this.used < size) {
      // The first chunk is exactly the first segment (small shards stay small); later ones double up to 8 MiB.
      const next = Math.max(size, Math.min(MAX_CHUNK_BYTES, this.copied));
      this.chunk = Buffer.allocUnsafeSlow(next);
      this.used = 0;
    }
    const at = this.used;
    this.chunk.set(data, at);
    this.used += size;
    this.copied += size;
    return this.chunk.subarray(at, at + size);
  }
}
