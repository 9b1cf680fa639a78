// The node façade: the driver-facing API (inputs, Ready/advance) around the Raft state machine.
import type {
  ConfChange,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  RaftNodeApi,
  Ready,
  Snapshot,
  SoftState,
  Status,
} from './types.ts';
import { RaftUsageError } from './errors.ts';
import { Raft } from './raft.ts';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export class RaftNode implements RaftNodeApi {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private outstanding: Ready | undefined;

  constructor(cfg: RaftConfig) {
    this.raft = new Raft(cfg);
    this.prevSoft = { leaderId: 0, role: 'follower' };
    // What the driver already has on disk; a bootstrapped node reports its new hard state in the first Ready.
    this.prevHard = { ...cfg.storage.hardState };
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: Message): void {
    this.raft.step(message);
  }

  propose(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) throw new RaftUsageError('proposal data must be a Uint8Array');
    return this.raft.propose(data);
  }

  proposeConfChange(change: ConfChange): number {
    return this.raft.proposeConfChange(change);
  }

  readIndex(requestCtx: Uint8Array): void {
    if (!(requestCtx instanceof Uint8Array) || requestCtx.length === 0) {
      throw new RaftUsageError('readIndex ctx must be a non-empty Uint8Array');
    }
    this.raft.readIndex(requestCtx);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  /** Starts an election now (pre-vote first when enabled), like an election timeout would. No-op on a leader. */
  campaign(): void {
    this.raft.campaignNow();
  }

  compact(index: number, snapshotData: Uint8Array): Snapshot {
    return this.raft.compact(index, snapshotData);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  private softState(): SoftState {
    return { leaderId: this.raft.lead, role: this.raft.role };
  }

  private hardState(): HardState {
    return { term: this.raft.term, vote: this.raft.vote, commit: this.raft.log.committed };
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const soft = this.softState();
    if (soft.leaderId !== this.prevSoft.leaderId || soft.role !== this.prevSoft.role) return true;
    if (!sameHardState(this.hardState(), this.prevHard)) return true;
    const log = this.raft.log;
    return (
      log.hasUnstable() ||
      log.hasNextCommitted() ||
      this.raft.msgs.length > 0 ||
      this.raft.readStates.length > 0
    );
  }

  ready(): Ready {
    if (this.outstanding !== undefined) throw new RaftUsageError('ready() called again before advance()');
    const log = this.raft.log;
    const msgs = this.raft.msgs;
    const rd: Ready = {
      entries: log.unstableEntries(),
      committedEntries: log.nextCommitted(),
      messages: msgs,
      earlyMessages: msgs.filter((m) => m.type === 'append'),
      readStates: this.raft.readStates,
      mustSync: false,
    };
    this.raft.msgs = [];
    this.raft.readStates = [];
    const soft = this.softState();
    if (soft.leaderId !== this.prevSoft.leaderId || soft.role !== this.prevSoft.role) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    const hard = this.hardState();
    if (!sameHardState(hard, this.prevHard)) {
      rd.hardState = hard;
      rd.mustSync = hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote;
      this.prevHard = hard;
    }
    if (log.pendingSnapshot !== undefined) {
      rd.snapshot = log.pendingSnapshot;
      rd.mustSync = true;
    }
    if (rd.entries.length > 0) rd.mustSync = true;
    this.outstanding = rd;
    return rd;
  }

  advance(rd: Ready): void {
    if (rd !== this.outstanding) throw new RaftUsageError('advance() must be given the Ready from ready()');
    this.outstanding = undefined;
    const log = this.raft.log;
    if (rd.snapshot !== undefined) log.snapshotStable(rd.snapshot.metadata.index);
    const lastPersisted = rd.entries[rd.entries.length - 1];
    if (lastPersisted !== undefined) log.stableTo(lastPersisted.index, lastPersisted.term);
    if (lastPersisted !== undefined || rd.snapshot !== undefined) this.raft.onPersisted();
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined && lastApplied.index > log.applied) {
      log.appliedTo(lastApplied.index);
      for (const e of rd.committedEntries) if (e.type === 'confChange') this.raft.applyConfEntry(e);
    }
  }

  status(): Status {
    return this.raft.status();
  }
}
