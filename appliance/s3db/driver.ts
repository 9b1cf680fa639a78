import type { Command, CommandResult } from './command.ts';
import { decodeEntryPayload, encodeCommands } from './command.ts';
import { S3dbError } from './errors.ts';
import type { ApplyItem, Fsm } from './fsm.ts';
import type { RaftLogStorage } from './log-storage.ts';
import { decodeSnapshotRef, encodeSnapshotRef, pruneSnapshotFiles, snapshotPath } from './snapshot-file.ts';
import { SnapshotStreamer, isStreamFrame } from './snapshot-stream.ts';
import type { SnapshotStreamOptions } from './snapshot-stream.ts';
import {
  ConfChangeInProgressError,
  NotLeaderError,
  ProposalDroppedError,
  RaftUsageError,
  RaftNode,
  decodeConfChange,
  decodeMessage,
  encodeMessage,
} from './raft/index.ts';
import type {
  ConfChange,
  Entry,
  HardState,
  InitialState,
  NodeId,
  Ready,
  Role,
  Status,
} from './raft/index.ts';

export interface RaftTimings {
  /** Milliseconds per Raft tick. Default 100. */
  tickMs: number;
  /** Election timeout in ticks (randomised up to twice that). Default 10 → 1000 ms (spec §16 ElectionTimeout). */
  electionTick: number;
  /** Heartbeat interval in ticks. Default 1 (100 ms). */
  heartbeatTick: number;
  /** Entries applied since the last snapshot before a new one is taken (spec §16 SnapshotThreshold). */
  snapshotThreshold: number;
  /** Entries kept in the log behind a snapshot for lagging followers (spec §16 TrailingLogs). */
  trailingLogs: number;
  /** How often the snapshot thresholds are checked (spec §16 SnapshotInterval). */
  snapshotIntervalMs: number;
  /** How long a proposal or a linearizable read may wait before failing with Timeout. */
  requestTimeoutMs: number;
}

export const DEFAULT_TIMINGS: RaftTimings = {
  tickMs: 100,
  electionTick: 10,
  heartbeatTick: 1,
  snapshotThreshold: 8192,
  trailingLogs: 10240,
  snapshotIntervalMs: 120_000,
  requestTimeoutMs: 10_000,
};

export interface DriverOptions {
  id: NodeId;
  /** Founding voters (identical on every founding node), or [] for a node that joins an existing cluster. */
  peers: NodeId[];
  storage: RaftLogStorage;
  fsm: Fsm;
  initial: InitialState;
  /** Directory of FSM snapshot files (written locally or received in chunks from the leader). */
  snapshotDir: string;
  /** Chunking of snapshot transfers (defaults: 256 KiB chunks, 8 in flight, 5 s without progress = failed). */
  snapshotStream?: Pick<SnapshotStreamOptions, 'chunkBytes' | 'window' | 'stallMs'>;
  send: (to: NodeId, payload: Uint8Array) => void;
  timings?: Partial<RaftTimings>;
  /** Called after committed entries were applied (e.g. to refresh the member directory). */
  onApplied?: (entries: Entry[]) => void;
  /** Called when this node's view of the leader changes. */
  onLeaderChange?: (leaderId: NodeId, role: Role) => void;
  /** Unrecoverable storage failure: the node must stop (it can no longer keep Raft's promises). */
  onFatal?: (err: unknown) => void;
  /**
   * Bootstrap leader hint (`leader = true` in [[db]]): on a fresh bootstrap this node campaigns at once and
   * again every few ticks until some leader is known, so it normally wins the first election. Only liveness
   * depends on it: Raft's safety holds whoever campaigns when.
   */
  campaignFirst?: boolean;
  /**
   * Followers learn a new commit index with their next append or heartbeat instead of an extra empty append
   * per commit (raft core `lazyCommit`). Default true.
   */
  lazyCommit?: boolean;
}

/** Ticks between the hinted node's campaigns, and how long it keeps trying (in election timeouts). */
const HINT_CAMPAIGN_EVERY_TICKS = 3;
const HINT_CAMPAIGN_ELECTIONS = 3;

interface QueuedCommand {
  command: Command;
  size: number;
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
}

/** Commands grouped into one entry at most (and about this many bytes). */
const MAX_GROUP_COMMANDS = 512;
const MAX_GROUP_BYTES = 1024 * 1024;

interface ProposalWaiter {
  term: number;
  resolve: (r: CommandResult[] | undefined) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface ReadWaiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

function deferredTimeout(ms: number, reject: (e: Error) => void, what: string): NodeJS.Timeout {
  return setTimeout(() => reject(new S3dbError('Timeout', `${what} did not complete within ${ms} ms`)), ms);
}

/**
 * Drives the pure Raft core: owns the disk (log + hard state, fsync before any message that depends on it),
 * the clock (ticks), the FSM (apply committed entries, snapshots) and hands messages to the transport.
 * Every Ready is handled in the core's order: snapshot, persist, send, apply, reads, advance.
 */
export class RaftDriver {
  readonly node: RaftNode;
  private readonly timings: RaftTimings;
  private running = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | undefined;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private readonly proposals = new Map<number, ProposalWaiter>();
  private queuedCommands: QueuedCommand[] = [];
  private queuedReads: ReadWaiter[] = [];
  private parkedReads: ReadWaiter[] = [];
  private readonly issuedReads = new Map<string, { index?: number; waiters: ReadWaiter[] }>();
  private readCounter = 0;
  private leader: NodeId = 0;
  private currentRole: Role = 'follower';
  private lastSnapshotIndex: number;
  private pendingSnapshot: { index: number; data: Uint8Array } | undefined;
  private snapshotting = false;
  private idle: Promise<void> = Promise.resolve();
  private deferredHardState: HardState | undefined;
  readonly snapshots: SnapshotStreamer;

  constructor(private readonly opts: DriverOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...opts.timings };
    const snapIndex = opts.initial.snapshot?.metadata.index ?? 0;
    const applied = Math.max(snapIndex, Math.min(opts.fsm.appliedIndex, opts.initial.hardState.commit));
    this.lastSnapshotIndex = snapIndex;
    this.node = new RaftNode({
      id: opts.id,
      peers: opts.peers,
      electionTick: this.timings.electionTick,
      heartbeatTick: this.timings.heartbeatTick,
      preVote: true,
      checkQuorum: true,
      lazyCommit: opts.lazyCommit ?? process.env['S3DB_LAZY_COMMIT'] !== '0',
      random: Math.random,
      storage: opts.initial,
      applied,
    });
    this.snapshots = new SnapshotStreamer({
      id: opts.id,
      dir: opts.snapshotDir,
      send: (to, payload) => this.opts.send(to, payload),
      deliver: (message) => this.receive(message),
      report: (to, ok) => {
        if (this.stopped) return;
        this.node.reportSnapshot(to, ok);
        this.schedule();
      },
      ...opts.snapshotStream,
    });
  }

  start(): void {
    let hintTicks = this.opts.campaignFirst ? 0 : -1;
    const hintLimit = HINT_CAMPAIGN_ELECTIONS * this.timings.electionTick;
    if (hintTicks === 0) this.node.campaign();
    this.ticker = setInterval(() => {
      if (hintTicks >= 0) {
        hintTicks++;
        if (this.leader !== 0 || hintTicks > hintLimit) hintTicks = -1;
        else if (hintTicks % HINT_CAMPAIGN_EVERY_TICKS === 0 && this.node.status().role !== 'candidate')
          this.node.campaign(); // a pre-vote round again (no term change); never cut a real election short
      }
      this.node.tick();
      if (this.parkedReads.length > 0) {
        this.queuedReads.push(...this.parkedReads);
        this.parkedReads = [];
      }
      this.schedule();
    }, this.timings.tickMs);
    this.snapshotTimer = setInterval(() => {
      this.snapshotDue = true;
      this.schedule();
    }, this.timings.snapshotIntervalMs);
    this.schedule();
  }

  private snapshotDue = false;

  get leaderId(): NodeId {
    return this.leader;
  }

  get role(): Role {
    return this.currentRole;
  }

  status(): Status & { fsmApplied: number; snapshotIndex: number } {
    return {
      ...this.node.status(),
      fsmApplied: this.opts.fsm.appliedIndex,
      snapshotIndex: this.lastSnapshotIndex,
    };
  }

  /** A message from a peer (encoded). Malformed messages are dropped. */
  receive(payload: Uint8Array): void {
    if (this.stopped) return;
    if (isStreamFrame(payload)) {
      this.snapshots.receive(payload);
      return;
    }
    let message;
    try {
      message = decodeMessage(payload);
    } catch {
      return;
    }
    if (message.to !== this.opts.id) return;
    this.node.step(message);
    this.schedule();
  }

  reportUnreachable(id: NodeId): void {
    if (this.stopped) return;
    this.node.reportUnreachable(id);
  }

  /**
   * Replicates a command; resolves with its result once applied here. Rejects with NotLeader/NoLeader on a
   * follower. Commands that arrive while the driver waits for the disk are grouped into one log entry.
   */
  propose(command: Command): Promise<CommandResult> {
    if (this.stopped) return Promise.reject(new S3dbError('Stopped', 'node is stopping'));
    let size = 64;
    if (command.type === 'batch') {
      for (const op of command.ops) size += op.key.length + (op.kind === 'put' ? op.value.length : 0) + 16;
      for (const p of command.preconditions)
        size += p.key.length + (p.kind === 'valueEquals' ? p.value.length : 0) + 16;
    } else {
      size += command.key.length + (command.type === 'put' ? command.value.length : 0);
    }
    const p = new Promise<CommandResult>((resolve, reject) =>
      this.queuedCommands.push({ command, size, resolve, reject }),
    );
    this.schedule();
    return p;
  }

  private flushProposals(): void {
    while (this.queuedCommands.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < this.queuedCommands.length && n < MAX_GROUP_COMMANDS) {
        const next = this.queuedCommands[n]!.size;
        if (n > 0 && bytes + next > MAX_GROUP_BYTES) break;
        bytes += next;
        n++;
      }
      const group = this.queuedCommands.splice(0, n);
      let index: number;
      try {
        index = this.node.propose(
          encodeCommands(
            group.map((q) => q.command),
            Date.now(),
          ),
        );
      } catch (e) {
        const err = this.translate(e);
        for (const q of group) q.reject(err);
        continue;
      }
      this.track(index, {
        resolve: (results) => {
          group.forEach((q, i) => {
            const r = results?.[i];
            if (r) q.resolve(r);
            else q.reject(new S3dbError('Internal', 'command produced no result'));
          });
        },
        reject: (e) => {
          for (const q of group) q.reject(e);
        },
      });
    }
  }

  async proposeConfChange(change: ConfChange): Promise<void> {
    if (this.stopped) throw new S3dbError('Stopped', 'node is stopping');
    let index: number;
    try {
      index = this.node.proposeConfChange(change);
    } catch (e) {
      throw this.translate(e);
    }
    await this.waitForIndex(index);
  }

  /**
   * Hands leadership to `to` (a voter) and resolves once this node knows another leader; rejects with Timeout
   * if that did not happen within two election timeouts (the core abandons a transfer after one).
   */
  async transferLeadership(to: NodeId): Promise<void> {
    if (this.stopped) throw new S3dbError('Stopped', 'node is stopping');
    try {
      this.node.transferLeadership(to);
    } catch (e) {
      throw this.translate(e);
    }
    this.schedule();
    const deadline = Date.now() + 2 * this.timings.electionTick * this.timings.tickMs + 500;
    while (Date.now() < deadline && !this.stopped) {
      if (this.leader !== this.opts.id && this.leader !== 0) return;
      await new Promise((r) => setTimeout(r, this.timings.tickMs / 2));
    }
    if (this.leader !== this.opts.id && this.leader !== 0) return;
    throw new S3dbError('Timeout', `leadership transfer to node ${to} did not complete`);
  }

  private waitForIndex(index: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.track(index, { resolve: () => resolve(), reject });
      this.schedule();
    });
  }

  private track(index: number, w: Pick<ProposalWaiter, 'resolve' | 'reject'>): void {
    const term = this.node.status().term;
    const timer = deferredTimeout(
      this.timings.requestTimeoutMs,
      (e) => {
        this.proposals.delete(index);
        w.reject(e);
      },
      `proposal at index ${index}`,
    );
    this.proposals.set(index, { term, resolve: w.resolve, reject: w.reject, timer });
  }

  private translate(e: unknown): Error {
    if (e instanceof NotLeaderError) {
      const err = new S3dbError(e.leaderId === 0 ? 'NoLeader' : 'NotLeader', e.message);
      return Object.assign(err, { leaderId: e.leaderId });
    }
    if (e instanceof ProposalDroppedError) return new S3dbError('NoLeader', e.message);
    if (e instanceof ConfChangeInProgressError)
      return new S3dbError('NoLeader', `${e.message}; retry once it is applied`);
    if (e instanceof RaftUsageError) return new S3dbError('InvalidRequest', e.message);
    return e instanceof Error ? e : new Error(String(e));
  }

  /** Resolves when this node's FSM reflects every write committed before the call (ReadIndex). */
  linearizableBarrier(): Promise<void> {
    if (this.stopped) return Promise.reject(new S3dbError('Stopped', 'node is stopping'));
    const p = new Promise<void>((resolve, reject) => {
      const waiter: ReadWaiter = {
        resolve,
        reject,
        timer: deferredTimeout(
          this.timings.requestTimeoutMs,
          (e) => {
            waiter.resolve = () => {};
            reject(e);
          },
          'linearizable read',
        ),
      };
      this.queuedReads.push(waiter);
    });
    this.schedule();
    return p;
  }

  private issueReads(): void {
    if (this.queuedReads.length === 0) return;
    const waiters = this.queuedReads;
    this.queuedReads = [];
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setBigUint64(0, BigInt(++this.readCounter));
    try {
      this.node.readIndex(ctx);
    } catch (e) {
      if (e instanceof NotLeaderError && e.leaderId === 0) {
        // No leader yet (election under way): retry on the next tick until the read's own timeout.
        this.parkedReads.push(...waiters);
        return;
      }
      const err = this.translate(e);
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
      return;
    }
    this.issuedReads.set(Buffer.from(ctx).toString('hex'), { waiters });
  }

  private serveReads(): void {
    const applied = this.opts.fsm.appliedIndex;
    let waiting = false;
    for (const [key, batch] of this.issuedReads) {
      if (batch.index === undefined) continue;
      if (batch.index > applied) {
        waiting = true;
        continue;
      }
      this.issuedReads.delete(key);
      for (const w of batch.waiters) {
        clearTimeout(w.timer);
        w.resolve();
      }
    }
    // A read waits for applied changes to land: write them now rather than after the FSM's write delay.
    if (waiting && this.opts.fsm.writesPending) this.opts.fsm.flushWrites();
    // Batches whose every waiter timed out are forgotten after a while (the answer was lost).
    if (this.issuedReads.size > 10_000) this.issuedReads.clear();
  }

  private schedule(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.idle = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        this.flushProposals();
        this.issueReads();
        if (this.node.hasReady()) {
          const rd = this.node.ready();
          await this.handle(rd);
          this.node.advance(rd);
          continue;
        }
        if (this.snapshotDue) {
          this.snapshotDue = false;
          await this.maybeSnapshot();
          continue;
        }
        break;
      }
    } catch (err) {
      this.stopped = true;
      this.failAll(new S3dbError('Internal', `raft driver failed: ${String(err)}`));
      this.opts.onFatal?.(err);
    } finally {
      this.running = false;
    }
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.softState) {
      this.leader = rd.softState.leaderId;
      this.currentRole = rd.softState.role;
      this.opts.onLeaderChange?.(this.leader, this.currentRole);
    }
    // A leader's appends leave before its own disk write: the follower's fsync runs in parallel with the
    // leader's, and the core counts the leader's copy only once this Ready is persisted (advance).
    const early = rd.earlyMessages.length > 0 ? new Set(rd.earlyMessages) : undefined;
    if (early) for (const m of rd.earlyMessages) this.opts.send(m.to, encodeMessage(m));
    // Committed entries are durable on a majority already, so they are applied (and their proposals answered)
    // while this Ready's new entries are being written, not after that write (as etcd's server does): at
    // concurrency > 1 the answers to one group no longer wait for the fsync of the next. Only a snapshot in the
    // Ready must be installed first (the committed entries follow it).
    const applyEarly = !rd.snapshot && rd.committedEntries.length > 0;
    const applying = applyEarly ? this.apply(rd.committedEntries) : undefined;
    if (!rd.mustSync && !rd.snapshot && rd.entries.length === 0) {
      // Only the commit index moved: it need not be durable (it is re-learned from the leader after a
      // restart), so it rides along with the next write instead of costing a disk round of its own.
      if (rd.hardState) this.deferredHardState = rd.hardState;
    } else {
      const save: Parameters<RaftLogStorage['save']>[0] = { entries: rd.entries, sync: rd.mustSync };
      if (rd.snapshot) save.snapshot = rd.snapshot;
      const hardState = rd.hardState ?? this.deferredHardState;
      if (hardState) save.hardState = hardState;
      this.deferredHardState = undefined;
      try {
        await this.opts.storage.save(save);
      } finally {
        await applying?.catch(() => {}); // its failure is rethrown below, after the save's
      }
    }
    if (rd.snapshot) {
      await this.opts.fsm.restore(snapshotSource(this.opts.snapshotDir, rd.snapshot.data));
      this.lastSnapshotIndex = rd.snapshot.metadata.index;
      this.pendingSnapshot = undefined;
      await this.pruneSnapshots();
      for (const [index, w] of this.proposals) {
        if (index > rd.snapshot.metadata.index) continue;
        this.proposals.delete(index);
        clearTimeout(w.timer);
        w.reject(
          new S3dbError(
            'Timeout',
            `outcome of the proposal at index ${index} is unknown (snapshot installed)`,
          ),
        );
      }
    }
    for (const m of rd.messages) {
      if (early?.has(m)) continue;
      const ref = m.type === 'snapshot' ? decodeSnapshotRef(m.snapshot.data) : undefined;
      if (ref) {
        this.snapshots.offer(m.to, ref, encodeMessage(m)); // the file follows in chunks
        continue;
      }
      this.opts.send(m.to, encodeMessage(m));
      if (m.type === 'snapshot') this.node.reportSnapshot(m.to, true);
    }
    if (applying) await applying;
    else if (rd.committedEntries.length > 0) await this.apply(rd.committedEntries);
    for (const rs of rd.readStates) {
      const batch = this.issuedReads.get(Buffer.from(rs.requestCtx).toString('hex'));
      if (batch) batch.index = rs.index;
    }
    this.serveReads();
  }

  private async apply(entries: Entry[]): Promise<void> {
    const items: ApplyItem[] = [];
    const bad = new Set<number>();
    for (const e of entries) {
      if (e.type === 'normal' && e.data.length > 0) {
        try {
          const payload = decodeEntryPayload(e.data);
          items.push({ index: e.index, commands: payload.commands, time: payload.time });
          continue;
        } catch {
          bad.add(e.index);
        }
      } else if (e.type === 'confChange') {
        decodeConfChange(e.data);
      }
      items.push({ index: e.index });
    }
    const { results, landed } = await this.opts.fsm.applyPipelined(items);
    this.settle(entries, results, bad);
    // Reads waiting for these entries are served once the FSM write has landed; the loop goes on meanwhile.
    landed.then(
      () => {
        this.serveReads();
        this.opts.onApplied?.(entries);
      },
      (err: unknown) => {
        this.stopped = true;
        this.failAll(new S3dbError('Internal', `FSM write failed: ${String(err)}`));
        this.opts.onFatal?.(err);
      },
    );
  }

  /** Answers the proposals of applied entries (a replaced entry means the proposal was lost: retry). */
  private settle(entries: Entry[], results: (CommandResult[] | undefined)[], bad: Set<number>): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const w = this.proposals.get(e.index);
      if (!w) continue;
      this.proposals.delete(e.index);
      clearTimeout(w.timer);
      if (e.term !== w.term) {
        w.reject(
          new S3dbError('NoLeader', `proposal at index ${e.index} was replaced by a new leader; retry`),
        );
      } else if (bad.has(e.index)) {
        w.reject(new S3dbError('InvalidCommand', 'command could not be decoded'));
      } else {
        w.resolve(results[i]);
      }
    }
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting) return;
    this.snapshotting = true;
    try {
      const fsm = this.opts.fsm;
      // The thresholds count applied entries; the stored state (what a snapshot holds) catches up first.
      await fsm.landWrites();
      if (
        !this.pendingSnapshot &&
        fsm.appliedIndex - this.lastSnapshotIndex >= this.timings.snapshotThreshold
      ) {
        const ref = await fsm.snapshotToFile(this.opts.snapshotDir);
        this.pendingSnapshot = { index: ref.index, data: encodeSnapshotRef(ref) };
      }
      const pending = this.pendingSnapshot;
      // Compact only once `trailingLogs` entries follow the snapshot, so lagging followers catch up from the log.
      if (pending && fsm.appliedIndex - pending.index >= this.timings.trailingLogs) {
        const snap = this.node.compact(pending.index, pending.data);
        await this.opts.storage.compact(snap);
        this.lastSnapshotIndex = pending.index;
        this.pendingSnapshot = undefined;
        await this.pruneSnapshots();
      }
    } finally {
      this.snapshotting = false;
    }
  }

  /** Deletes snapshot files no longer needed: keeps the current, the pending and those being sent. */
  private async pruneSnapshots(): Promise<void> {
    const keep = this.snapshots.indexesInUse();
    keep.add(this.lastSnapshotIndex);
    if (this.pendingSnapshot) keep.add(this.pendingSnapshot.index);
    await pruneSnapshotFiles(this.opts.snapshotDir, keep);
  }

  /** Forces a snapshot + compaction check now (used by tests and the admin path). */
  async snapshotNow(): Promise<void> {
    this.snapshotDue = true;
    this.schedule();
    await this.idle;
  }

  private failAll(err: Error): void {
    for (const q of this.queuedCommands) q.reject(err);
    this.queuedCommands = [];
    for (const w of this.proposals.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.proposals.clear();
    for (const w of [...this.queuedReads, ...this.parkedReads]) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.queuedReads = [];
    this.parkedReads = [];
    for (const b of this.issuedReads.values()) {
      for (const w of b.waiters) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.issuedReads.clear();
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    this.stopped = true;
    this.snapshots.close();
    await this.idle;
    this.failAll(new S3dbError('Stopped', 'node stopped'));
    const hardState = this.deferredHardState;
    this.deferredHardState = undefined;
    if (hardState) await this.opts.storage.save({ entries: [], hardState, sync: true }).catch(() => {});
  }
}

/** What to restore the FSM from for a Raft snapshot's data: its file (chunked snapshots) or the inline bytes. */
export function snapshotSource(dir: string, data: Uint8Array): string | Uint8Array {
  const ref = decodeSnapshotRef(data);
  return ref ? snapshotPath(dir, ref.index) : data;
}
