// The Raft log as the core sees it: an optional snapshot, then the entries after it (all in memory).
// Entries up to `stableIndex` are persisted by the driver; the rest are unstable (still to be handed out in a
// Ready). A snapshot received from the leader is unstable until the driver persisted it.
import type { Entry, NodeId, Snapshot } from './types.ts';
import { RaftUsageError } from './errors.ts';

export class RaftLog {
  /** Latest snapshot (stable or not); undefined while the log still starts at index 1. */
  snapshot: Snapshot | undefined;
  /** A snapshot received from the leader that the driver has not persisted yet. */
  pendingSnapshot: Snapshot | undefined;
  private snapIndex: number;
  private snapTerm: number;
  private entries: Entry[];
  /** Last entry index the driver has persisted. */
  stableIndex: number;
  committed: number;
  applied: number;

  constructor(snapshot: Snapshot | undefined, entries: Entry[], committed: number, applied: number) {
    this.snapshot = snapshot;
    this.pendingSnapshot = undefined;
    this.snapIndex = snapshot?.metadata.index ?? 0;
    this.snapTerm = snapshot?.metadata.term ?? 0;
    for (let i = 0; i < entries.length; i++) {
      if (entries[i]!.index !== this.snapIndex + 1 + i) {
        throw new RaftUsageError(`stored entries must be contiguous from index ${this.snapIndex + 1}`);
      }
    }
    this.entries = entries.slice();
    this.stableIndex = this.lastIndex();
    if (committed > this.lastIndex()) {
      throw new RaftUsageError(
        `stored commit ${committed} is beyond the last stored index ${this.lastIndex()}`,
      );
    }
    this.committed = Math.max(committed, this.snapIndex);
    this.applied = Math.max(applied, this.snapIndex);
    if (this.applied > this.committed) {
      throw new RaftUsageError(`applied ${applied} is beyond commit ${this.committed}`);
    }
  }

  firstIndex(): number {
    return this.snapIndex + 1;
  }

  lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`, or undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapIndex - 1]!.term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapIndex - 1];
  }

  /** Entries in [lo, hi) with at most `maxBytes` of data (at least one entry). Undefined when lo is compacted. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo <= this.snapIndex) return undefined;
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi && i <= this.lastIndex(); i++) {
      const e = this.entries[i - this.snapIndex - 1]!;
      size += e.data.length;
      if (out.length > 0 && size > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Raft §5.4.1: is (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Appends entries, truncating any conflicting suffix. Returns the new last index. */
  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const first = entries[0]!.index;
    if (first <= this.committed) {
      throw new RaftUsageError(`refusing to overwrite committed entry ${first} (commit ${this.committed})`);
    }
    if (first > this.lastIndex() + 1) throw new RaftUsageError(`gap before entry ${first}`);
    this.entries.length = first - this.snapIndex - 1;
    for (const e of entries) this.entries.push(e);
    if (this.stableIndex >= first) this.stableIndex = first - 1;
    return this.lastIndex();
  }

  /** First index in `entries` whose term differs from ours (or that we lack); 0 when all match. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /** Largest index <= `index` whose term is <= `term` (for the fast conflict back-off). */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapIndex) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
      i--;
    }
    return i;
  }

  /** Follower side of AppendEntries. Returns the last new index, or undefined if (prevIndex, prevTerm) mismatch. */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    leaderCommit: number,
    entries: Entry[],
  ): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftUsageError(
          `entry ${conflict} conflicts with committed entry (commit ${this.committed})`,
        );
      }
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new RaftUsageError(`commit ${index} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new RaftUsageError(`applied ${index} out of range [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /** The driver persisted entries up to (index, term). Ignored if the log changed underneath meanwhile. */
  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.matchTerm(index, term)) this.stableIndex = index;
  }

  unstableEntries(): Entry[] {
    return this.entries.slice(this.stableIndex - this.snapIndex);
  }

  hasUnstable(): boolean {
    return this.stableIndex < this.lastIndex() || this.pendingSnapshot !== undefined;
  }

  /** Committed entries not yet applied. */
  nextCommitted(maxBytes = Infinity): Entry[] {
    if (this.committed <= this.applied) return [];
    return this.slice(Math.max(this.applied + 1, this.firstIndex()), this.committed + 1, maxBytes) ?? [];
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applied;
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.pendingSnapshot = snapshot;
    this.snapIndex = snapshot.metadata.index;
    this.snapTerm = snapshot.metadata.term;
    this.entries = [];
    this.stableIndex = this.snapIndex;
    this.committed = this.snapIndex;
    this.applied = this.snapIndex;
  }

  /** Driver persisted the pending snapshot. */
  snapshotStable(index: number): void {
    if (this.pendingSnapshot !== undefined && this.pendingSnapshot.metadata.index === index) {
      this.pendingSnapshot = undefined;
    }
  }

  /** Drops entries <= index after the driver took an FSM snapshot at `index` (which must be applied). */
  compact(index: number, data: Uint8Array, voters: NodeId[]): Snapshot {
    if (index <= this.snapIndex) {
      throw new RaftUsageError(`index ${index} is already compacted (first index ${this.firstIndex()})`);
    }
    if (index > this.applied)
      throw new RaftUsageError(`cannot compact to ${index}: applied is ${this.applied}`);
    const term = this.term(index)!;
    const snapshot: Snapshot = { metadata: { index, term, voters: voters.slice() }, data };
    this.entries = this.entries.slice(index - this.snapIndex);
    this.snapIndex = index;
    this.snapTerm = term;
    this.snapshot = snapshot;
    if (this.stableIndex < index) this.stableIndex = index;
    return snapshot;
  }
}
