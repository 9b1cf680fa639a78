// Per-second totals over a sliding window: requests and bytes per second for the status page (pure).

export interface RateTotals {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  errors: number;
}

interface Slot extends RateTotals {
  second: number;
}

export class RateWindow {
  private readonly slots: Slot[];

  constructor(readonly seconds = 60) {
    if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('seconds must be a positive integer');
    // One slot more than the window: the current (partial) second has its own.
    this.slots = Array.from({ length: seconds + 1 }, () => ({
      second: -1,
      requests: 0,
      bytesIn: 0,
      bytesOut: 0,
      errors: 0,
    }));
  }

  add(sample: Partial<RateTotals>, nowMs = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    const slot = this.slots[second % this.slots.length]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = slot.bytesIn = slot.bytesOut = slot.errors = 0;
    }
    slot.requests += sample.requests ?? 0;
    slot.bytesIn += sample.bytesIn ?? 0;
    slot.bytesOut += sample.bytesOut ?? 0;
    slot.errors += sample.errors ?? 0;
  }

  /** Averages per second over the last `seconds` whole seconds before now (the current one excluded). */
  perSecond(nowMs = Date.now()): RateTotals {
    const current = Math.floor(nowMs / 1000);
    const sum: RateTotals = { requests: 0, bytesIn: 0, bytesOut: 0, errors: 0 };
    for (const slot of this.slots) {
      if (slot.second >= current || slot.second < current - this.seconds) continue;
      sum.requests += slot.requests;
      sum.bytesIn += slot.bytesIn;
      sum.bytesOut += slot.bytesOut;
      sum.errors += slot.errors;
    }
    const n = this.seconds;
    return {
      requests: sum.requests / n,
      bytesIn: sum.bytesIn / n,
      bytesOut: sum.bytesOut / n,
      errors: sum.errors / n,
    };
  }
}
