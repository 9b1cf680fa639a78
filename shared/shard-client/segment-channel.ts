// A one-producer, one-consumer hand-off of segments for a streamed shard PUT: the producer's
// `push` resolves once the consumer has written that segment to the transport (so the producer
// may reuse the bytes), and a failure on either side settles everything still waiting.

interface Waiting {
  segment: Uint8Array;
  written: () => void;
  failed: (error: Error) => void;
}

export class SegmentChannel {
  private readonly queue: Waiting[] = [];
  /** Taken by the consumer and not yet acknowledged: a failure settles it too. */
  private readonly taken = new Set<Waiting>();
  private taker: ((item: Waiting | null) => void) | undefined;
  private closed = false;
  private failure: Error | undefined;

  /** Hands `segment` over; resolves when the consumer called `done` for it, rejects on failure. */
  push(segment: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('segment pushed after the shard was finished'));
    return new Promise((resolve, reject) => {
      const item: Waiting = {
        segment,
        written: () => {
          this.taken.delete(item);
          resolve();
        },
        failed: (error) => {
          this.taken.delete(item);
          reject(error);
        },
      };
      const taker = this.taker;
      if (taker) {
        this.taker = undefined;
        taker(item);
      } else this.queue.push(item);
    });
  }

  /** No more segments: the consumer's next `take` returns null once the queue is empty. */
  close(): void {
    this.closed = true;
    if (this.queue.length === 0) {
      const taker = this.taker;
      this.taker = undefined;
      taker?.(null);
    }
  }

  /** Rejects every waiting and future push with `error`; a waiting take returns null. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const item of this.queue.splice(0)) item.failed(error);
    for (const item of [...this.taken]) item.failed(error);
    const taker = this.taker;
    this.taker = undefined;
    taker?.(null);
  }

  /** The next segment (with its acknowledgement callbacks), or null when closed or failed. */
  take(): Promise<Waiting | null> {
    if (this.failure) return Promise.resolve(null);
    const item = this.queue.shift();
    if (item) {
      this.taken.add(item);
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.taker = (next) => {
        if (next) this.taken.add(next);
        resolve(next);
      };
    });
  }
}
