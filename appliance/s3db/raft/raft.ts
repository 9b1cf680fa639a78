// The Raft protocol state machine (etcd raft semantics): roles, terms and votes, elections with pre-vote and
// check-quorum, log replication with conflict back-off, commit of current-term entries, snapshots, single-server
// membership changes, leadership transfer and ReadIndex. Pure: it only mutates itself and queues messages.
import type {
  ConfChange,
  Entry,
  Message,
  NodeId,
  RaftConfig,
  ReadState,
  Role,
  Snapshot,
  Status,
  AppendMessage,
  HeartbeatMessage,
  SnapshotMessage,
  AppendResponseMessage,
  HeartbeatResponseMessage,
} from './types.ts';
import { NONE } from './types.ts';
import { ConfChangeInProgressError, NotLeaderError, ProposalDroppedError, RaftUsageError } from './errors.ts';
import { RaftLog } from './log.ts';
import { checkAppendEntries } from './codec.ts';
import { Progress, quorum } from './progress.ts';
import {
  grantsVote,
  ignoresCampaign,
  randomizedElectionTimeout,
  tallyVotes,
  type VoteResult,
} from './election.ts';
import { commitIndex, nextProbeIndex, rejectHint } from './replication.ts';
import { ReadOnlyQueue } from './read-only.ts';
import { applyConfChange, ConfHistory, decodeConfChange, encodeConfChange } from './membership.ts';

const EMPTY = new Uint8Array(0);
/** Upper bound on appends sent to one follower in response to one message (they also stop when paused). */
const MAX_APPENDS_PER_RESPONSE = 1024;

type CampaignKind = 'preElection' | 'election' | 'transfer';

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = 'follower';
  readonly log: RaftLog;
  voters: NodeId[] = [];
  /** Index of the last configuration change applied to `voters`. */
  confAppliedIndex = 0;
  /** Leader: index of the last proposed configuration change; no new one until it is applied. */
  pendingConfIndex = 0;
  leadTransferee: NodeId = NONE;
  msgs: Message[] = [];
  readStates: ReadState[] = [];

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsg: number;
  private readonly maxInflight: number;
  private readonly lazyCommit: boolean;
  private readonly random: () => number;
  private readonly confHistory: ConfHistory;
  private prs = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly readOnly = new ReadOnlyQueue();
  /** Read requests that arrived before this leader committed an entry of its term. */
  private pendingReadRequests: { from: NodeId; ctx: Uint8Array }[] = [];
  /** Leader: ticks each follower has spent in snapshot state (back to probe if the snapshot got lost). */
  private snapshotTicks = new Map<NodeId, number>();

  constructor(cfg: RaftConfig) {
    if (!Number.isInteger(cfg.id) || cfg.id <= 0)
      throw new RaftUsageError(`node id must be a positive integer`);
    this.id = cfg.id;
    this.electionTimeout = cfg.electionTick ?? 10;
    this.heartbeatTimeout = cfg.heartbeatTick ?? 1;
    if (this.heartbeatTimeout < 1 || this.electionTimeout <= this.heartbeatTimeout) {
      throw new RaftUsageError('need 1 <= heartbeatTick < electionTick');
    }
    this.preVote = cfg.preVote ?? true;
    this.checkQuorum = cfg.checkQuorum ?? true;
    this.maxSizePerMsg = cfg.maxSizePerMsg ?? 1024 * 1024;
    this.maxInflight = cfg.maxInflight ?? 256;
    this.lazyCommit = cfg.lazyCommit ?? false;
    if (this.maxInflight < 1) throw new RaftUsageError('maxInflight must be >= 1');
    this.random = cfg.random;

    const st = cfg.storage;
    const empty =
      st.hardState.term === 0 &&
      st.hardState.commit === 0 &&
      st.snapshot === undefined &&
      st.entries.length === 0;
    if (empty && cfg.peers.length > 0) {
      // Bootstrap: identical committed conf-change entries on every founding node.
      const peers = [...new Set(cfg.peers)].sort((a, b) => a - b);
      const entries: Entry[] = peers.map((p, i) => ({
        term: 1,
        index: i + 1,
        type: 'confChange',
        data: encodeConfChange({ type: 'addNode', nodeId: p }),
      }));
      this.log = new RaftLog(undefined, [], 0, 0);
      this.log.append(entries);
      this.log.commitTo(entries.length);
      this.term = 1;
      this.confHistory = new ConfHistory(0, []);
      for (const e of entries) this.applyConfEntry(e);
    } else {
      this.term = st.hardState.term;
      this.vote = st.hardState.vote;
      const applied = cfg.applied ?? st.snapshot?.metadata.index ?? 0;
      this.log = new RaftLog(st.snapshot, st.entries, st.hardState.commit, applied);
      this.voters = st.snapshot?.metadata.voters.slice().sort((a, b) => a - b) ?? [];
      this.confAppliedIndex = st.snapshot?.metadata.index ?? 0;
      this.confHistory = new ConfHistory(this.confAppliedIndex, this.voters);
      for (let i = this.log.firstIndex(); i <= this.log.applied; i++) {
        const e = this.log.entry(i)!;
        if (e.type === 'confChange') this.applyConfEntry(e);
      }
    }
    this.becomeFollower(this.term, NONE);
  }

  // ---------------------------------------------------------------- roles

  private promotable(): boolean {
    return this.voters.includes(this.id);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = randomizedElectionTimeout(this.electionTimeout, this.random);
    this.leadTransferee = NONE;
    this.votes = new Map();
    this.prs = new Map();
    this.snapshotTicks = new Map();
    this.readOnly.clear();
    this.pendingReadRequests = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Pre-vote changes neither term nor vote.
    this.votes = new Map();
    this.lead = NONE;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const last = this.log.lastIndex();
    for (const v of this.voters) {
      const pr = new Progress(last + 1, this.maxInflight);
      if (v === this.id) {
        // The leader counts only what it has persisted (its appends may leave before its own disk write).
        pr.match = this.persistedIndex();
        pr.recentActive = true;
      }
      this.prs.set(v, pr);
    }
    // No conf change until the previous ones (possibly uncommitted, from older terms) are applied.
    this.pendingConfIndex = last;
    this.appendEntries([{ term: 0, index: 0, type: 'normal', data: EMPTY }]);
    this.bcastAppend();
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.preVote ? 'preElection' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    for (const [id, ticks] of this.snapshotTicks) {
      const pr = this.prs.get(id);
      if (pr === undefined || pr.state !== 'snapshot') {
        this.snapshotTicks.delete(id);
      } else if (ticks + 1 >= 2 * this.electionTimeout) {
        // The snapshot (or its answer) was lost and nobody reported it: probe again.
        this.snapshotTicks.delete(id);
        pr.becomeProbe();
      } else {
        this.snapshotTicks.set(id, ticks + 1);
      }
    }
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NONE);
        return;
      }
      this.leadTransferee = NONE; // a transfer that did not finish within an election timeout is abandoned
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastPendingCtx());
    }
  }

  /** Check-quorum: did a quorum (self included) talk to us since the last check? Resets the marks. */
  private quorumActive(): boolean {
    let active = 0;
    for (const v of this.voters) {
      const pr = this.prs.get(v);
      if (v === this.id || pr?.recentActive === true) active++;
      if (pr !== undefined && v !== this.id) pr.recentActive = false;
    }
    return active >= quorum(this.voters.length);
  }

  // ---------------------------------------------------------------- elections

  private campaign(kind: CampaignKind): void {
    if (!this.promotable()) return;
    let voteTerm: number;
    let type: 'preVote' | 'vote';
    if (kind === 'preElection') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
      type = 'preVote';
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
      type = 'vote';
    }
    if (this.poll(this.id, true) === 'won') {
      // Single voter: won outright.
      if (kind === 'preElection') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    for (const v of this.voters) {
      if (v === this.id) continue;
      this.msgs.push({
        type,
        from: this.id,
        to: v,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        transfer: kind === 'transfer',
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return tallyVotes(this.voters, this.votes);
  }

  // ---------------------------------------------------------------- step

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // A node that hears from a live leader ignores campaigns: this is what keeps a returning
        // partitioned node from disrupting the cluster.
        if (
          ignoresCampaign(this.checkQuorum, this.lead, this.electionElapsed, this.electionTimeout, m.transfer)
        ) {
          return;
        }
      }
      if (m.type === 'preVote') {
        // Never change term because of a pre-vote.
      } else if (m.type === 'preVoteResponse' && !m.reject) {
        // A granted pre-vote carries the term we would campaign in.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'heartbeat' || m.type === 'append')) {
        // Tell a stale leader about the newer term so it steps down (it may have been partitioned away).
        this.msgs.push({
          type: 'appendResponse',
          from: this.id,
          to: m.from,
          term: this.term,
          index: 0,
          reject: false,
          rejectHint: 0,
          logTerm: 0,
        });
      } else if (m.type === 'preVote') {
        this.msgs.push({ type: 'preVoteResponse', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      const respType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
      const voter = { term: this.term, vote: this.vote, leader: this.lead };
      if (grantsVote(voter, m, this.log.isUpToDate(m.index, m.logTerm))) {
        this.msgs.push({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
        if (m.type === 'vote') {
          this.electionElapsed = 0;
          this.vote = m.from;
        }
      } else {
        this.msgs.push({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        const mine = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
        if (m.type !== mine) return;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'preCandidate') this.campaign('election');
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        this.campaign('transfer');
        return;
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, requestCtx: m.context });
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.prs.get(m.from);
    switch (m.type) {
      case 'appendResponse':
        if (pr !== undefined) this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResponse':
        if (pr !== undefined) this.handleHeartbeatResponse(m, pr);
        return;
      case 'readIndex':
        this.handleReadRequest(m.from, m.context);
        return;
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- replication (follower side)

  private respondAppend(to: NodeId, index: number, reject = false, rejectHint = 0, logTerm = 0): void {
    this.msgs.push({
      type: 'appendResponse',
      from: this.id,
      to,
      term: this.term,
      index,
      reject,
      rejectHint,
      logTerm,
    });
  }

  private handleAppend(m: AppendMessage): void {
    try {
      checkAppendEntries(m.index, m.logTerm, m.term, m.entries);
    } catch {
      return; // malformed (the codec rejects these; this guards in-process callers): ignore, change nothing
    }
    if (m.index < this.log.committed) {
      this.respondAppend(m.from, this.log.committed);
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.respondAppend(m.from, lastNew);
      return;
    }
    const hint = rejectHint(this.log, m.index, m.logTerm);
    this.respondAppend(m.from, m.index, true, hint.index, hint.term);
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.msgs.push({
      type: 'heartbeatResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      context: m.context,
    });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const meta = m.snapshot.metadata;
    if (meta.index <= this.log.committed) {
      this.respondAppend(m.from, this.log.committed);
      return;
    }
    if (this.log.matchTerm(meta.index, meta.term)) {
      // We already have the entries: just learn that they are committed.
      this.log.commitTo(meta.index);
      this.respondAppend(m.from, this.log.committed);
      return;
    }
    this.log.restore(m.snapshot);
    this.voters = meta.voters.slice().sort((a, b) => a - b);
    this.confAppliedIndex = meta.index;
    this.confHistory.reset(meta.index, this.voters);
    this.respondAppend(m.from, this.log.lastIndex());
  }

  // ---------------------------------------------------------------- replication (leader side)

  private appendEntries(entries: Entry[]): number {
    let index = this.log.lastIndex();
    const stamped = entries.map((e) => ({ ...e, term: this.term, index: ++index }));
    // Not counted for the leader itself until persisted (onPersisted), so the driver may send the appends
    // while its own write is under way (Raft thesis §10.2.1) without committing on an unwritten copy.
    return this.log.append(stamped);
  }

  /** Highest index this node has persisted (nothing while a received snapshot is not yet persisted). */
  private persistedIndex(): number {
    if (this.log.pendingSnapshot !== undefined) return 0;
    return Math.min(this.log.stableIndex, this.log.lastIndex());
  }

  /** The driver persisted a Ready: the leader now counts its own copy and may commit. */
  onPersisted(): void {
    if (this.role !== 'leader') return;
    const pr = this.prs.get(this.id);
    if (pr === undefined || !pr.maybeUpdate(this.persistedIndex())) return;
    if (this.maybeCommit()) {
      this.releasePendingReads();
      this.bcastCommit();
    }
  }

  /** Commit the highest index stored on a quorum, but only if it is from the current term (Raft §5.4.2). */
  private maybeCommit(): boolean {
    const index = commitIndex(this.log, this.term, this.voters, (v) => this.prs.get(v)?.match ?? 0);
    if (index === undefined) return false;
    this.log.commitTo(index);
    return true;
  }

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.prs.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.maxSizePerMsg);
    if (prevTerm === undefined || entries === undefined) {
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.msgs.push({
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate' && last !== undefined) {
      pr.optimisticUpdate(last.index);
      pr.inflights.add(last.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snapshot = this.log.snapshot;
    if (!pr.recentActive || snapshot === undefined) return false;
    this.msgs.push({ type: 'snapshot', from: this.id, to, term: this.term, snapshot });
    pr.becomeSnapshot(snapshot.metadata.index);
    this.snapshotTicks.set(to, 0);
    return true;
  }

  private bcastAppend(): void {
    for (const v of this.voters) if (v !== this.id) this.sendAppend(v);
  }

  /** The commit index moved: tell the followers (lazily: only along with entries they still need). */
  private bcastCommit(): void {
    for (const v of this.voters) if (v !== this.id) this.sendAppend(v, !this.lazyCommit);
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    for (const v of this.voters) {
      if (v === this.id) continue;
      const pr = this.prs.get(v);
      if (pr === undefined) continue;
      this.msgs.push({
        type: 'heartbeat',
        from: this.id,
        to: v,
        term: this.term,
        // Never let a follower commit past what it is known to hold.
        commit: Math.min(pr.match, this.log.committed),
        context: ctx ?? EMPTY,
      });
    }
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      if (pr.maybeDecrTo(m.index, nextProbeIndex(this.log, m.rejectHint, m.logTerm))) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe'))) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
      this.snapshotTicks.delete(m.from);
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.releasePendingReads();
      this.bcastCommit();
    } else if (wasPaused) {
      this.sendAppend(m.from);
    }
    for (let i = 0; i < MAX_APPENDS_PER_RESPONSE && this.sendAppend(m.from, false); i++);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.context.length === 0) return;
    if (!this.readOnly.hasQuorum(m.context, m.from, this.voters)) return;
    for (const read of this.readOnly.advance(m.context)) this.answerRead(read.from, read.index, read.ctx);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.msgs.push({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  // ---------------------------------------------------------------- ReadIndex

  private handleReadRequest(from: NodeId, ctx: Uint8Array): void {
    if (this.voters.length === 1 && this.voters[0] === this.id) {
      this.answerRead(from, this.log.committed, ctx);
      return;
    }
    if (!this.committedInCurrentTerm()) {
      // Our commit index may lag the true one until an entry of our term commits.
      this.pendingReadRequests.push({ from, ctx });
      return;
    }
    if (this.readOnly.add(this.log.committed, from, ctx, this.id)) this.bcastHeartbeat(ctx);
  }

  private releasePendingReads(): void {
    if (this.pendingReadRequests.length === 0 || !this.committedInCurrentTerm()) return;
    const reads = this.pendingReadRequests;
    this.pendingReadRequests = [];
    for (const r of reads) this.handleReadRequest(r.from, r.ctx);
  }

  private answerRead(to: NodeId, index: number, ctx: Uint8Array): void {
    if (to === this.id) {
      this.readStates.push({ index, requestCtx: ctx });
    } else {
      this.msgs.push({ type: 'readIndexResponse', from: this.id, to, term: this.term, index, context: ctx });
    }
  }

  readIndex(ctx: Uint8Array): void {
    if (this.role === 'leader') {
      this.handleReadRequest(this.id, ctx);
      return;
    }
    if (this.lead === NONE) throw new NotLeaderError(NONE);
    this.msgs.push({ type: 'readIndex', from: this.id, to: this.lead, term: this.term, context: ctx });
  }

  // ---------------------------------------------------------------- proposals

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.lead);
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`leadership transfer to ${this.leadTransferee} in progress`);
    }
    if (!this.promotable()) throw new ProposalDroppedError('this leader is no longer a voter');
  }

  propose(data: Uint8Array): number {
    this.checkCanPropose();
    const index = this.appendEntries([{ term: 0, index: 0, type: 'normal', data }]);
    this.bcastAppend();
    return index;
  }

  proposeConfChange(change: ConfChange): number {
    this.checkCanPropose();
    if (!Number.isInteger(change.nodeId) || change.nodeId <= 0) {
      throw new RaftUsageError('conf change node id must be a positive integer');
    }
    if (this.pendingConfIndex > this.log.applied) throw new ConfChangeInProgressError(this.pendingConfIndex);
    const member = this.voters.includes(change.nodeId);
    if (change.type === 'addNode' && member)
      throw new RaftUsageError(`node ${change.nodeId} is already a voter`);
    if (change.type === 'removeNode' && !member)
      throw new RaftUsageError(`node ${change.nodeId} is not a voter`);
    if (change.type === 'removeNode' && this.voters.length === 1) {
      throw new RaftUsageError('cannot remove the last voter');
    }
    const index = this.appendEntries([
      { term: 0, index: 0, type: 'confChange', data: encodeConfChange(change) },
    ]);
    this.pendingConfIndex = index;
    this.bcastAppend();
    return index;
  }

  /** An election now, as on an election timeout (the driver's bootstrap leader hint). */
  campaignNow(): void {
    if (this.role === 'leader' || !this.promotable()) return;
    this.electionElapsed = 0;
    this.campaign(this.preVote ? 'preElection' : 'election');
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.lead);
    if (to === this.id) return;
    if (!this.voters.includes(to)) throw new RaftUsageError(`node ${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer must finish within one election timeout
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  // ---------------------------------------------------------------- membership, snapshots, reports

  /** Applies a committed 'confChange' entry (called when the driver has applied it). */
  applyConfEntry(entry: Entry): void {
    if (entry.index <= this.confAppliedIndex) return;
    const change = decodeConfChange(entry.data);
    this.voters = applyConfChange(this.voters, change);
    this.confAppliedIndex = entry.index;
    this.confHistory.record(entry.index, this.voters);
    if (this.role !== 'leader') return;
    if (!this.voters.includes(this.id)) {
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (change.type === 'addNode' && !this.prs.has(change.nodeId)) {
      const pr = new Progress(this.log.lastIndex() + 1, this.maxInflight);
      pr.recentActive = true;
      this.prs.set(change.nodeId, pr);
    } else if (change.type === 'removeNode') {
      this.prs.delete(change.nodeId);
      if (this.leadTransferee === change.nodeId) this.leadTransferee = NONE;
    }
    if (this.maybeCommit()) {
      this.releasePendingReads();
      this.bcastCommit();
    } else {
      for (const v of this.voters) if (v !== this.id) this.sendAppend(v, false);
    }
  }

  compact(index: number, data: Uint8Array): Snapshot {
    const snapshot = this.log.compact(index, data, this.confHistory.votersAt(index));
    this.confHistory.pruneBefore(index);
    return snapshot;
  }

  reportUnreachable(id: NodeId): void {
    const pr = this.role === 'leader' ? this.prs.get(id) : undefined;
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.prs.get(id) : undefined;
    if (pr === undefined || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for a heartbeat response before probing again.
    pr.probeSent = true;
    this.snapshotTicks.delete(id);
  }

  status(): Status {
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      voters: this.voters.slice(),
      leadTransferee: this.leadTransferee,
      progress: this.role === 'leader' ? [...this.prs].map(([id, pr]) => pr.status(id)) : [],
    };
  }
}
