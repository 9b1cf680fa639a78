/** Counting semaphore over units (requests or bytes). FIFO; a waiter can give up through an AbortSignal. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ units: number; resolve: () => void; reject: (err: Error) => void }> = [];

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  get inUse(): number {
    return this.capacity - this.available;
  }

  acquire(units: number, signal?: AbortSignal): Promise<void> {
    if (units > this.capacity)
      return Promise.reject(new RangeError(`${units} exceeds capacity ${this.capacity}`));
    if (this.waiters.length === 0 && units <= this.available) {
      this.available -= units;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = { units, resolve, reject };
      this.waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) {
            this.waiters.splice(i, 1);
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
            this.drain();
          }
        },
        { once: true },
      );
    });
  }

  release(units: number): void {
    this.available = Math.min(this.capacity, this.available + units);
    this.drain();
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!;
      if (next.units > this.available) return;
      this.waiters.shift();
      this.available -= next.units;
      next.resolve();
    }
  }
}
