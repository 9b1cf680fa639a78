import { ErasureError } from './errors.ts';
import { SEGMENT_SIZE, validateScheme } from './scheme.ts';
import type { RsScheme } from './scheme.ts';
import type { StripeBuffers } from './stripe.ts';

/**
 * A bounded set of reusable stripe buffers (allocating fresh 64 KiB buffers per stripe measured
 * 3–10× slower). `acquire` waits while all `capacity` buffers are out, which is what bounds the
 * memory of the data path.
 */
export class StripePool {
  readonly scheme: RsScheme;
  readonly segmentSize: number;
  readonly capacity: number;
  private readonly free: StripeBuffers[] = [];
  private readonly lent = new Set<StripeBuffers>();
  private readonly waiters: ((stripe: StripeBuffers) => void)[] = [];
  private allocated = 0;

  constructor(scheme: RsScheme, capacity: number, segmentSize = SEGMENT_SIZE) {
    validateScheme(scheme);
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new ErasureError('POOL_MISUSE', `pool capacity must be ≥ 1, got ${capacity}`);
    if (!Number.isInteger(segmentSize) || segmentSize < 8 || segmentSize % 8 !== 0) {
      throw new ErasureError(
        'BAD_SEGMENT_LENGTH',
        `segment size must be a positive multiple of 8, got ${segmentSize}`,
      );
    }
    this.scheme = scheme;
    this.capacity = capacity;
    this.segmentSize = segmentSize;
  }

  /** Buffers currently lent out. */
  get inUse(): number {
    return this.lent.size;
  }

  /** A stripe buffer now, or undefined if all are lent out. Contents are whatever the last user left. */
  tryAcquire(): StripeBuffers | undefined {
    let stripe = this.free.pop();
    if (!stripe && this.allocated < this.capacity) {
      this.allocated++;
      stripe = {
        data: Buffer.allocUnsafeSlow(this.scheme.k * this.segmentSize),
        parity: Buffer.allocUnsafeSlow(this.scheme.m * this.segmentSize),
      };
    }
    if (stripe) this.lent.add(stripe);
    return stripe;
  }

  /** A stripe buffer, waiting (FIFO) for a release when all are lent out; `signal` gives up waiting. */
  acquire(signal?: AbortSignal): Promise<StripeBuffers> {
    if (signal?.aborted) return Promise.reject(new ErasureError('ABORTED', 'stripe buffer wait was aborted'));
    const stripe = this.tryAcquire();
    if (stripe) return Promise.resolve(stripe);
    return new Promise((resolve, reject) => {
      const waiter = (granted: StripeBuffers) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(granted);
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at !== -1) this.waiters.splice(at, 1);
        reject(new ErasureError('ABORTED', 'stripe buffer wait was aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(stripe: StripeBuffers): void {
    if (!this.lent.delete(stripe))
      throw new ErasureError(
        'POOL_MISUSE',
        'released a stripe buffer this pool did not lend (or released it twice)',
      );
    const waiter = this.waiters.shift();
    if (waiter) {
      this.lent.add(stripe);
      waiter(stripe);
    } else {
      this.free.push(stripe);
    }
  }
}
