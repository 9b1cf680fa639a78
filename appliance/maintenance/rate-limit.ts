// Bounds on background work so foreground traffic keeps priority: a byte-rate limiter (virtual
// clock: each take books its share of time; callers wait when booked past the burst allowance)
// and a counting semaphore.

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const timer = setTimeout(done, ms);
      function done(): void {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort(): void {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export class RateLimiter {
  private bookedUntil = 0;

  constructor(
    /** Units (bytes) per second. */
    readonly perSecond: number,
    /** How far ahead of now work may be booked without waiting. */
    readonly burstMs = 200,
    private readonly clock: Clock = realClock,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`rate must be positive, got ${perSecond}`);
  }

  /** Milliseconds the caller must wait before moving `units` (and books them). Pure bookkeeping. */
  book(units: number): number {
    const now = this.clock.now();
    const start = Math.max(this.bookedUntil, now - this.burstMs);
    this.bookedUntil = start + (units / this.perSecond) * 1000;
    return Math.max(0, this.bookedUntil - now - this.burstMs);
  }

  async take(units: number, signal?: AbortSignal): Promise<void> {
    const wait = this.book(units);
    if (wait > 0) await this.clock.sleep(wait, signal);
  }
}

export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Delay before retry number `attempts` (1-based): base × 2^(attempts-1), capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}
