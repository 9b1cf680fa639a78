/**
 * Reusable receive buffers for PUT bodies. A PUT's segments are copied out of the transport's chunks into one
 * buffer of the shard's size as they arrive; the buffer goes back here once the store is done with it. Long-lived
 * pooled buffers cost the garbage collector nothing, where holding every received TLS chunk until the shard is
 * complete made them survive into the old generation (measured: most of the receiver's GC time).
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private idleBytes = 0;

  /** Keeps at most `maxIdleBytes` of returned buffers; buffers larger than `maxBufferBytes` are never kept. */
  constructor(
    private readonly maxIdleBytes: number,
    private readonly maxBufferBytes = 64 << 20,
  ) {}

  /** A buffer of exactly `size` bytes (contents undefined). */
  take(size: number): Buffer {
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.idleBytes -= size;
      return reused;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Returns a buffer from take(); the caller must not touch it afterwards. */
  give(buffer: Buffer): void {
    const size = buffer.byteLength;
    if (size === 0 || size > this.maxBufferBytes || this.idleBytes + size > this.maxIdleBytes) return;
    let list = this.free.get(size);
    if (list === undefined) {
      list = [];
      this.free.set(size, list);
    }
    list.push(buffer);
    this.idleBytes += size;
  }

  get idle(): number {
    return this.idleBytes;
  }
}
