// The public contract of the pure Raft core (etcd raft's shape).
//
// The core never touches disks, timers or sockets. A driver:
//   1. feeds inputs: tick(), step(message), propose(data), proposeConfChange(change), readIndex(ctx),
//      transferLeadership(id), compact(index, data), reportUnreachable(id), reportSnapshot(id, ok);
//   2. while hasReady(): takes rd = ready() and handles it IN THIS ORDER:
//        a. if rd.snapshot: persist it durably, drop every persisted log entry (the log now starts after
//           rd.snapshot.metadata.index), and restore the FSM from rd.snapshot.data;
//        b. persist rd.entries: an entry whose index is already on disk replaces it AND every entry after it
//           (truncate, then append); persist rd.hardState if present. fsync if rd.mustSync;
//        c. send rd.messages (only now — never before the fsync of step b); those also in rd.earlyMessages (a
//           leader's appends) may instead be sent before step b, in parallel with the leader's own disk write;
//        d. apply rd.committedEntries to the FSM in order ('confChange' entries carry an encoded ConfChange,
//           see membership.ts; the core applies them to its own configuration itself);
//        e. serve rd.readStates once the FSM has applied index >= readState.index;
//      then calls advance(rd). Call advance before the next ready().
//
// Node ids are positive integers; 0 (NONE) means "no node".

/** "No node": no vote cast, no leader known. */
export const NONE = 0;

export type NodeId = number;

/** State that must be persisted (with fsync) before messages of the same Ready are sent. */
export interface HardState {
  term: number;
  /** The node voted for in `term`, or NONE. */
  vote: NodeId;
  /** Highest log index known to be committed. */
  commit: number;
}

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** For 'normal': the proposal bytes (empty for the no-op a new leader appends). For 'confChange': encodeConfChange(...). */
  data: Uint8Array;
}

export interface SnapshotMetadata {
  /** Last log index covered by the snapshot. */
  index: number;
  /** Term of the entry at `index`. */
  term: number;
  /** The voters as of `index`. */
  voters: NodeId[];
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** Opaque FSM snapshot produced by the driver (see RaftNode.compact). */
  data: Uint8Array;
}

/** What the driver loaded from disk at start. Empty: `{ hardState: {term:0,vote:0,commit:0}, entries: [] }`. */
export interface InitialState {
  hardState: HardState;
  snapshot?: Snapshot;
  /** Persisted entries after the snapshot (or from index 1), contiguous and in order. */
  entries: Entry[];
}

export interface ConfChange {
  type: 'addNode' | 'removeNode';
  nodeId: NodeId;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported when it changes; not persisted. */
export interface SoftState {
  leaderId: NodeId;
  role: Role;
}

/** A ReadIndex answer: the read with this ctx is linearizable once the FSM has applied `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export interface RaftConfig {
  id: NodeId;
  /**
   * Initial voters including this node. Used only when `storage` is empty: the core then bootstraps the
   * log with one committed 'confChange' addNode entry per peer (term 1, indexes 1..n) — identical on every
   * founding node. A node joining an existing cluster passes `peers: []` and learns the configuration
   * from the leader (log or snapshot) after it has been added with proposeConfChange.
   */
  peers: NodeId[];
  /** Ticks without hearing from a leader before campaigning (randomised in [electionTick, 2*electionTick)). Default 10. */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 1. Must be < electionTick. */
  heartbeatTick?: number;
  /** Pre-vote phase before real elections (a rejoining partitioned node cannot bump the term). Default true. */
  preVote?: boolean;
  /** A leader steps down if it has not heard from a quorum in an election timeout; followers honour leases. Default true. */
  checkQuorum?: boolean;
  /** Max bytes of entry data per append message (at least one entry is always sent). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Max in-flight append messages per follower in replicate state. Default 256. */
  maxInflight?: number;
  /**
   * When the commit index moves and a follower has no new entries to receive, do not send it an empty append
   * just to carry the commit: it learns the commit with its next append or heartbeat (each tick). Saves two
   * messages per write and per follower; followers apply up to one heartbeat later. Safety is unaffected
   * (only when followers learn the commit changes). Default false (etcd's behaviour).
   */
  lazyCommit?: boolean;
  /** Seeded PRNG returning floats in [0, 1). The only source of randomness in the core. */
  random: () => number;
  /** What the driver loaded from disk. */
  storage: InitialState;
  /**
   * Index the driver's FSM has durably applied (committed entries after it are re-delivered).
   * Default: the snapshot index, or 0. Must be <= hardState.commit.
   */
  applied?: number;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  id: NodeId;
  match: number;
  next: number;
  state: ProgressState;
  recentActive: boolean;
}

export interface Status {
  id: NodeId;
  term: number;
  vote: NodeId;
  role: Role;
  leaderId: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  voters: NodeId[];
  /** Set while a leadership transfer is in progress (leader only). */
  leadTransferee: NodeId;
  /** Replication progress of every voter (leader only, otherwise empty). */
  progress: ProgressStatus[];
}

export interface Ready {
  /** Present when leader or role changed since the previous Ready. */
  softState?: SoftState;
  /** Present when term, vote or commit changed since the previous Ready: persist it. */
  hardState?: HardState;
  /** Snapshot received from the leader: persist it, reset the log after it, restore the FSM from it. */
  snapshot?: Snapshot;
  /** Entries to persist, in order, BEFORE sending messages (may overwrite a persisted suffix). */
  entries: Entry[];
  /** Committed entries to apply to the FSM, after persisting. */
  committedEntries: Entry[];
  /** Messages to send, after persisting. */
  messages: Message[];
  /**
   * The subset of `messages` that may be sent BEFORE or while this Ready is persisted: a leader's appends (the
   * leader counts its own copy only once advance() reports it persisted, so nothing commits on an unwritten
   * leader copy). A driver that sends them early must not send them again with the rest of `messages`.
   */
  earlyMessages: Message[];
  /** Answers to readIndex requests. */
  readStates: ReadState[];
  /** True when hardState term/vote or entries changed: the write must be fsynced before sending. */
  mustSync: boolean;
}

// ---- Messages. Every message carries from, to and the sender's term. ----

interface MessageHeader {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Leader → follower: entries following (index, logTerm), and the leader's commit. */
export interface AppendMessage extends MessageHeader {
  type: 'append';
  /** Index of the entry preceding `entries`. */
  index: number;
  /** Term of the entry at `index`. */
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/** Follower → leader. Accept: `index` is the follower's last matching index. Reject: `index` is the rejected
 * prev index, and (rejectHint, logTerm) the follower's best guess of where the logs may match. */
export interface AppendResponseMessage extends MessageHeader {
  type: 'appendResponse';
  index: number;
  reject: boolean;
  rejectHint: number;
  logTerm: number;
}

/** (Pre)candidate → voter. For 'preVote', `term` is the term the candidate would campaign in. */
export interface VoteMessage extends MessageHeader {
  type: 'vote' | 'preVote';
  /** Candidate's last log index. */
  index: number;
  /** Candidate's last log term. */
  logTerm: number;
  /** Campaign caused by a leadership transfer: voters ignore their leader lease. */
  transfer: boolean;
}

export interface VoteResponseMessage extends MessageHeader {
  type: 'voteResponse' | 'preVoteResponse';
  reject: boolean;
}

/** Leader → follower. `commit` is capped at the follower's known match; `context` carries a ReadIndex ctx (or is empty). */
export interface HeartbeatMessage extends MessageHeader {
  type: 'heartbeat';
  commit: number;
  context: Uint8Array;
}

export interface HeartbeatResponseMessage extends MessageHeader {
  type: 'heartbeatResponse';
  context: Uint8Array;
}

/** Leader → follower: InstallSnapshot. */
export interface SnapshotMessage extends MessageHeader {
  type: 'snapshot';
  snapshot: Snapshot;
}

/** Leader → transfer target: campaign now (skipping pre-vote and leases). */
export interface TimeoutNowMessage extends MessageHeader {
  type: 'timeoutNow';
}

/** Follower → leader: a readIndex request forwarded from the follower's driver. */
export interface ReadIndexMessage extends MessageHeader {
  type: 'readIndex';
  context: Uint8Array;
}

/** Leader → follower: the read index for a forwarded request. */
export interface ReadIndexResponseMessage extends MessageHeader {
  type: 'readIndexResponse';
  index: number;
  context: Uint8Array;
}

export type Message =
  | AppendMessage
  | AppendResponseMessage
  | VoteMessage
  | VoteResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage;

export type MessageType = Message['type'];

/** The node façade (implemented by RaftNode in node.ts). */
export interface RaftNodeApi {
  tick(): void;
  step(message: Message): void;
  /** Leader only; throws NotLeaderError (with the known leader id) or ProposalDroppedError. Returns the entry index. */
  propose(data: Uint8Array): number;
  /** Leader only; one pending change at a time (ConfChangeInProgressError). Returns the entry index. */
  proposeConfChange(change: ConfChange): number;
  /** Linearizable read request; the answer arrives as a ReadState with the same ctx (which must be unique). */
  readIndex(requestCtx: Uint8Array): void;
  transferLeadership(to: NodeId): void;
  /** Campaign now (as on an election timeout); ignored by a leader or a non-voter. */
  campaign(): void;
  /** Driver took an FSM snapshot at `index` (<= applied): the core drops log entries <= index and returns the
   * snapshot for the driver to persist (after which it may delete persisted entries <= index). */
  compact(index: number, snapshotData: Uint8Array): Snapshot;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, ok: boolean): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): Status;
}
