// The leader's view of each voter's replication (etcd's Progress), its flow control, and quorum arithmetic.
import type { NodeId, ProgressState, ProgressStatus } from './types.ts';

/** Bounded window of in-flight append messages, identified by their last entry index (ascending). */
export class Inflights {
  private readonly indexes: number[] = [];
  constructor(readonly capacity: number) {}
  add(lastIndex: number): void {
    this.indexes.push(lastIndex);
  }
  /** An ack up to `index` frees every message whose last index is <= it. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= index) n++;
    if (n > 0) this.indexes.splice(0, n);
  }
  /** Frees the oldest slot: lets one more append out when the window is stuck full (its acks were lost). */
  freeFirstOne(): void {
    this.indexes.shift();
  }
  full(): boolean {
    return this.indexes.length >= this.capacity;
  }
  count(): number {
    return this.indexes.length;
  }
  reset(): void {
    this.indexes.length = 0;
  }
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append was sent and we wait for a response (or heartbeat response) before the next one. */
  probeSent = false;
  /** In snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An append accepted up to `index`. Returns false when the response is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Optimistically advance next after sending entries up to `lastIndex` in replicate state. */
  optimisticUpdate(lastIndex: number): void {
    this.next = lastIndex + 1;
  }

  /**
   * An append with prev index `rejected` was refused; `hint` is where the follower thinks the logs may match.
   * Returns false when the rejection is stale (from an older probe).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader must hold back appends to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  status(id: NodeId): ProgressStatus {
    return { id, match: this.match, next: this.next, state: this.state, recentActive: this.recentActive };
  }
}

/** Majority size for `n` voters. */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The largest index replicated on a quorum of voters (their `match`), i.e. the committable index. */
export function quorumMatchIndex(matches: number[]): number {
  if (matches.length === 0) return 0;
  const sorted = matches.slice().sort((a, b) => b - a);
  return sorted[quorum(matches.length) - 1]!;
}
