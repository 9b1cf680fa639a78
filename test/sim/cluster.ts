// Deterministic simulation of a Raft cluster driven ONLY through the public RaftNode API, exactly as a real
// driver would: each node has a simulated disk (what was persisted per the Ready contract) and a simulated FSM;
// the network drops, duplicates, delays/reorders and partitions messages (all wire traffic goes through the
// binary codec); nodes crash (losing everything not persisted) and restart from their disk. Safety properties are
// checked as the run goes and at its end; a violation throws SafetyViolation naming the seed.
import { crc32c } from '../../shared/checksum/index.ts';
import {
  RaftNode,
  NotLeaderError,
  ProposalDroppedError,
  ConfChangeInProgressError,
  RaftUsageError,
  decodeConfChange,
  encodeMessage,
  decodeMessage,
} from '../../appliance/s3db/raft/index.ts';
import type { Entry, HardState, Message, Ready, Snapshot } from '../../appliance/s3db/raft/index.ts';
import { SessionTable, type SessionRecord } from '../../appliance/s3db/sessions.ts';
import { createPrng, type Prng } from './prng.ts';

export class SafetyViolation extends Error {
  constructor(seed: number, message: string) {
    super(`seed ${seed}: ${message}`);
    this.name = 'SafetyViolation';
  }
}

export interface SimOptions {
  seed: number;
  nodes: 3 | 5;
  /** Ticks of chaos (faults on) before healing. */
  chaosTicks: number;
  /** Ticks allowed after healing for a leader to be elected and a write to commit everywhere. */
  livenessTicks?: number;
  electionTick?: number;
  /** Probabilities per message. */
  dropRate?: number;
  duplicateRate?: number;
  /** Enable each kind of fault / feature. All default to true. */
  partitions?: boolean;
  crashes?: boolean;
  membership?: boolean;
  transfers?: boolean;
  compaction?: boolean;
  reads?: boolean;
  /** Per-tick proposal probability. */
  proposalRate?: number;
  /** Share of proposals that are session-tagged client writes (retried on unknown outcome; exactly once). */
  sessionWriteShare?: number;
}

export interface SimStats {
  seed: number;
  ticks: number;
  committed: number;
  leadersElected: number;
  maxTerm: number;
  crashes: number;
  partitions: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  compactions: number;
  confChangesApplied: number;
  transfersDone: number;
  readsServed: number;
  messagesDelivered: number;
  messagesDropped: number;
  livenessTicks: number;
  sessionWrites: number;
  sessionRetries: number;
  duplicatesAnswered: number;
  staleRefused: number;
  sessionsExpired: number;
  /** Crashes after committed entries were applied while the Ready's own disk write had not landed. */
  crashesAfterEarlyApply: number;
  /** Restarts whose durable FSM was ahead of the stored commit (so the core started below the FSM). */
  restartsWithFsmAhead: number;
}

const ROUNDS_PER_TICK = 10;
/** Simulated leader clock: ms per tick stamped into session writes (drives the replicated session expiry). */
const MS_PER_TICK = 100;
/** A client retries a write whose outcome it does not know for this many ticks, then gives up. */
const CLIENT_RETRY_TICKS = 50;
/** Session ttl of the simulated FSM: longer than the client's retry window (see sessions.ts). */
const SIM_SESSION_TTL_MS = 2 * CLIENT_RETRY_TICKS * MS_PER_TICK;

interface Disk {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  entries: Entry[];
}

/**
 * FSM: a hash chain over applied entries (equal hash at equal index <=> same applied sequence), plus the real
 * session table deciding which session-tagged writes take effect, and the set of writes that took effect.
 */
interface Fsm {
  index: number;
  hash: number;
  sessions: SessionTable;
  effects: Set<string>;
}

/** A session-tagged client write as it travels in a simulated entry. */
interface SessionWrite {
  c: string;
  s: number;
  t: number;
}

interface SimClient {
  id: string;
  seq: number;
  /** Tick the current request was first proposed. */
  since: number;
  /** The current request is finished (answered, or given up). */
  done: boolean;
  /** Tick after which the client stops retrying the current request (at most CLIENT_RETRY_TICKS after since). */
  giveUpAt: number;
  requestsLeft: number;
}

function emptyFsm(): Fsm {
  return {
    index: 0,
    hash: 0,
    sessions: new SessionTable({ ttlMs: SIM_SESSION_TTL_MS, maxSessions: 1_000_000 }),
    effects: new Set(),
  };
}

interface SimNode {
  id: number;
  founding: boolean;
  disk: Disk;
  fsm: Fsm;
  raft: RaftNode | undefined; // undefined while crashed
  restartAt: number;
  /** Term of the last leadership this node reported. */
  lastRole: string;
  lastCommit: number;
  /** A Ready whose early appends are out and whose disk write is still under way (asynchronous persistence). */
  pendingWrite?: { rd: Ready; at: number; sentEarly: Set<Message>; appliedEarly: boolean };
}

interface InFlight {
  at: number; // round
  bytes: Uint8Array;
  from: number;
  to: number;
  isSnapshot: boolean;
}

function encodeFsm(fsm: Fsm): Uint8Array {
  const sessions = fsm.sessions
    .entries()
    .map(([c, r]) => [c, r.seq, r.lastTime, r.lastIndex, Buffer.from(r.result).toString('hex')]);
  return new TextEncoder().encode(
    JSON.stringify({
      index: fsm.index,
      hash: fsm.hash,
      clock: fsm.sessions.clock,
      sessions,
      effects: [...fsm.effects],
    }),
  );
}
function decodeFsm(data: Uint8Array): Fsm {
  const raw = JSON.parse(new TextDecoder().decode(data)) as {
    index: number;
    hash: number;
    clock: number;
    sessions: [string, number, number, number, string][];
    effects: string[];
  };
  const fsm = emptyFsm();
  fsm.index = raw.index;
  fsm.hash = raw.hash;
  fsm.sessions.loadClock(raw.clock);
  for (const [c, seq, lastTime, lastIndex, result] of raw.sessions) {
    const rec: SessionRecord = {
      seq,
      lastTime,
      lastIndex,
      result: new Uint8Array(Buffer.from(result, 'hex')),
    };
    fsm.sessions.load(c, rec);
  }
  fsm.effects = new Set(raw.effects);
  return fsm;
}
function parseSessionWrite(data: Uint8Array): SessionWrite | undefined {
  if (data[0] !== 0x7b) return undefined; // '{'
  return JSON.parse(new TextDecoder().decode(data)) as SessionWrite;
}
function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export class Simulation {
  readonly opts: Required<SimOptions>;
  private readonly rng: Prng;
  private readonly nodes = new Map<number, SimNode>();
  private round = 0;
  private tickNo = 0;
  private net: InFlight[] = [];
  /** Partition: node -> group; messages only flow within a group. Empty = fully connected. */
  private groups = new Map<number, number>();
  private partitionUntil = 0;
  private faultsOn = true;
  private dropRate: number;
  private duplicateRate: number;
  private nextNodeId: number;
  private nextProposal = 1;
  private readonly removed = new Set<number>();
  private readonly clients: SimClient[] = [];
  private nextClient = 1;
  /** "client:seq" -> index where the write took effect (the result every duplicate must answer). */
  private readonly sessionEffects = new Map<string, number>();

  // Global observations for the safety checks.
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly applied = new Map<number, { term: number; data: string; hash: number }>();
  /** Index -> term of the leader that first committed it (for leader completeness). */
  private readonly commitTerm = new Map<number, number>();
  private maxCommitSeen = 0;
  private readonly pendingReads = new Map<string, { minIndex: number; node: number; requestedAt: number }>();
  private readonly readsAwaitingApply: { node: number; index: number; ctx: string }[] = [];
  private readonly proposedData = new Set<string>();
  /** Transfer target -> term in which the transfer was requested. */
  private readonly transferRequests = new Map<number, number>();
  readonly stats: SimStats;

  constructor(options: SimOptions) {
    this.opts = {
      livenessTicks: 300,
      electionTick: 10,
      dropRate: 0.05,
      duplicateRate: 0.02,
      partitions: true,
      crashes: true,
      membership: true,
      transfers: true,
      compaction: true,
      reads: true,
      proposalRate: 0.5,
      sessionWriteShare: 0.5,
      ...options,
    };
    this.rng = createPrng(options.seed);
    this.dropRate = this.opts.dropRate;
    this.duplicateRate = this.opts.duplicateRate;
    this.nextNodeId = options.nodes + 1;
    this.stats = {
      seed: options.seed,
      ticks: 0,
      committed: 0,
      leadersElected: 0,
      maxTerm: 0,
      crashes: 0,
      partitions: 0,
      snapshotsSent: 0,
      snapshotsInstalled: 0,
      compactions: 0,
      confChangesApplied: 0,
      transfersDone: 0,
      readsServed: 0,
      messagesDelivered: 0,
      messagesDropped: 0,
      livenessTicks: 0,
      sessionWrites: 0,
      sessionRetries: 0,
      duplicatesAnswered: 0,
      staleRefused: 0,
      sessionsExpired: 0,
      crashesAfterEarlyApply: 0,
      restartsWithFsmAhead: 0,
    };
    const peers = Array.from({ length: options.nodes }, (_, i) => i + 1);
    for (const id of peers) {
      const n: SimNode = {
        id,
        founding: true,
        disk: { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] },
        fsm: emptyFsm(),
        raft: undefined,
        restartAt: 0,
        lastRole: 'follower',
        lastCommit: 0,
      };
      this.nodes.set(id, n);
      this.start(n, peers);
    }
  }

  private fail(message: string): never {
    throw new SafetyViolation(this.opts.seed, `tick ${this.tickNo}: ${message}`);
  }

  // ------------------------------------------------------------------ node lifecycle

  private start(n: SimNode, peers: number[]): void {
    const seed = this.rng.int(1, 2 ** 31);
    const random = createPrng(seed).next;
    // The FSM restarts from the persisted snapshot (the driver's FSM state is rebuilt from it).
    if (n.disk.snapshot !== undefined) {
      const snapFsm = decodeFsm(n.disk.snapshot.data);
      if (snapFsm.index > n.fsm.index || this.rng.chance(0.5)) n.fsm = snapFsm;
    } else if (this.rng.chance(0.5)) {
      n.fsm = emptyFsm();
    }
    // Either the FSM survived (durable FSM) or it was rebuilt from the snapshot. A durable FSM may be ahead of
    // the persisted log (committed entries applied while the Ready's own write was under way, then a crash):
    // like the driver, the core starts at min(FSM index, stored commit) and the FSM skips what it already has.
    const snapIndex = n.disk.snapshot?.metadata.index ?? 0;
    const applied = Math.min(n.fsm.index, Math.max(n.disk.hardState.commit, snapIndex));
    if (applied < n.fsm.index) this.stats.restartsWithFsmAhead++;
    n.raft = new RaftNode({
      id: n.id,
      peers,
      electionTick: this.opts.electionTick,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      // Half the nodes tell followers about commits only along with entries or heartbeats (the driver's mode).
      lazyCommit: (this.opts.seed + n.id) % 2 === 0,
      maxSizePerMsg: 64,
      maxInflight: 2,
      random,
      storage: {
        hardState: { ...n.disk.hardState },
        snapshot: n.disk.snapshot,
        entries: n.disk.entries.slice(),
      },
      applied,
    });
    n.lastRole = 'follower';
    this.drain(n);
  }

  private crash(n: SimNode): void {
    n.raft = undefined;
    n.pendingWrite = undefined;
    n.restartAt = this.tickNo + this.rng.int(1, 4 * this.opts.electionTick);
    this.stats.crashes++;
  }

  // ------------------------------------------------------------------ the driver loop (Ready contract)

  private drain(n: SimNode): void {
    for (let guard = 0; n.raft !== undefined && n.raft.hasReady(); guard++) {
      if (guard > 10_000) this.fail(`node ${n.id} never stops producing Ready`);
      const rd = n.raft.ready();
      // Like the real driver, a leader's appends often leave before its own disk write.
      const early = rd.earlyMessages.length > 0 && this.rng.chance(0.7);
      if (early) for (const m of rd.earlyMessages) this.send(m);
      // Like the real driver, committed entries are often applied while this Ready's disk write is still under
      // way (they are durable on a majority already); without a snapshot in the Ready only.
      const applyEarly = rd.snapshot === undefined && rd.committedEntries.length > 0 && this.rng.chance(0.5);
      if (applyEarly) this.applyCommitted(n, rd);
      if (this.faultsOn && this.opts.crashes && this.rng.chance(applyEarly ? 0.01 : 0.0005)) {
        // Crash before anything of this Ready reached disk (its early appends may already be out, its committed
        // entries may already be in the durable FSM).
        if (applyEarly) this.stats.crashesAfterEarlyApply++;
        this.crash(n);
        return;
      }
      if (early) {
        // The disk write completes some rounds later; meanwhile the node keeps stepping messages (acks of
        // these very appends may arrive first), as the real driver does while it awaits the write.
        n.pendingWrite = {
          rd,
          at: this.round + this.rng.int(1, 2 * ROUNDS_PER_TICK),
          sentEarly: new Set(rd.earlyMessages),
          appliedEarly: applyEarly,
        };
        return;
      }
      this.handleReady(n, rd, undefined);
      n.raft?.advance(rd);
      if (
        this.faultsOn &&
        this.opts.crashes &&
        n.raft !== undefined &&
        this.grantsVote(rd) &&
        this.rng.chance(0.2)
      ) {
        // Crash right after granting a vote and restart at once: the vote must have been persisted, or this
        // node could vote again in the same term.
        this.crash(n);
        n.restartAt = this.tickNo;
        this.start(n, this.peersFor(n));
        return;
      }
    }
  }

  /** Completes due asynchronous disk writes (or crashes the node before one lands). */
  private completeWrites(): void {
    for (const n of this.nodes.values()) {
      const w = n.pendingWrite;
      if (w === undefined || n.raft === undefined || w.at > this.round) continue;
      if (this.faultsOn && this.opts.crashes && this.rng.chance(0.03)) {
        // The write never landed; the appends it sent early are out there (and its committed entries may
        // already be applied).
        if (w.appliedEarly) this.stats.crashesAfterEarlyApply++;
        this.crash(n);
        continue;
      }
      n.pendingWrite = undefined;
      this.handleReady(n, w.rd, w.sentEarly);
      n.raft.advance(w.rd);
      this.drain(n);
    }
  }

  private grantsVote(rd: Ready): boolean {
    return rd.messages.some((m) => m.type === 'voteResponse' && !m.reject);
  }

  private peersFor(n: SimNode): number[] {
    return n.founding ? Array.from({ length: this.opts.nodes }, (_, i) => i + 1) : [];
  }

  private handleReady(n: SimNode, rd: Ready, sentEarly: Set<Message> | undefined): void {
    const raft = n.raft!;
    // a. snapshot
    if (rd.snapshot !== undefined) {
      n.disk.snapshot = rd.snapshot;
      n.disk.entries = [];
      const fsm = decodeFsm(rd.snapshot.data);
      const expected = this.applied.get(fsm.index);
      if (fsm.index !== rd.snapshot.metadata.index) this.fail(`snapshot index mismatch on ${n.id}`);
      if (expected !== undefined && expected.hash !== fsm.hash) this.fail(`snapshot ${fsm.index} differs`);
      n.fsm = fsm;
      this.stats.snapshotsInstalled++;
    }
    // b. entries + hard state
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const base = n.disk.snapshot?.metadata.index ?? 0;
      const keep = first - base - 1;
      if (keep < 0 || keep > n.disk.entries.length)
        this.fail(`node ${n.id} asked to persist a gap at ${first}`);
      n.disk.entries.length = keep;
      for (const e of rd.entries) n.disk.entries.push(e);
    }
    if (rd.hardState !== undefined) {
      if (rd.hardState.term < n.disk.hardState.term) this.fail(`node ${n.id} term went backwards`);
      if (rd.hardState.commit < n.disk.hardState.commit) this.fail(`node ${n.id} commit went backwards`);
      n.disk.hardState = { ...rd.hardState };
    }
    const status = raft.status();
    // Track leaders per term, and who committed what first.
    if (rd.softState?.role === 'leader') {
      const prev = this.leaderOfTerm.get(status.term);
      if (prev !== undefined && prev !== n.id)
        this.fail(`two leaders in term ${status.term}: ${prev} and ${n.id}`);
      this.leaderOfTerm.set(status.term, n.id);
      this.stats.leadersElected++;
      const requested = this.transferRequests.get(n.id);
      if (requested !== undefined && requested < status.term) {
        this.transferRequests.delete(n.id);
        this.stats.transfersDone++;
      }
      this.checkLeaderCompleteness(n, status.term);
    }
    this.stats.maxTerm = Math.max(this.stats.maxTerm, status.term);
    if (status.role === 'leader' && status.commit > n.lastCommit) {
      for (let i = n.lastCommit + 1; i <= status.commit; i++) {
        if (!this.commitTerm.has(i)) this.commitTerm.set(i, status.term);
      }
    }
    n.lastCommit = Math.max(n.lastCommit, status.commit);
    this.maxCommitSeen = Math.max(this.maxCommitSeen, status.commit);
    // c. messages (through the codec, as on the wire)
    for (const m of rd.messages) if (!sentEarly?.has(m)) this.send(m);
    // d. apply (entries applied early are skipped: already in the FSM)
    this.applyCommitted(n, rd);
    // e. reads
    for (const rs of rd.readStates) {
      const key = hex(rs.requestCtx);
      const req = this.pendingReads.get(key);
      if (req === undefined) continue; // duplicate delivery of an already answered read
      this.pendingReads.delete(key);
      if (rs.index < req.minIndex) {
        this.fail(
          `read ${key} got index ${rs.index} but ${req.minIndex} was committed before it was requested`,
        );
      }
      this.readsAwaitingApply.push({ node: n.id, index: rs.index, ctx: key });
    }
    this.serveReads(n);
  }

  private serveReads(n: SimNode): void {
    for (let i = this.readsAwaitingApply.length - 1; i >= 0; i--) {
      const r = this.readsAwaitingApply[i]!;
      if (r.node !== n.id || n.fsm.index < r.index) continue;
      this.readsAwaitingApply.splice(i, 1);
      this.stats.readsServed++;
    }
  }

  private applyCommitted(n: SimNode, rd: Ready): void {
    for (const e of rd.committedEntries) this.apply(n, e);
    this.serveReads(n);
  }

  private apply(n: SimNode, e: Entry): void {
    if (e.index <= n.fsm.index) return; // already in the durable FSM
    if (e.index !== n.fsm.index + 1) this.fail(`node ${n.id} applies ${e.index} after ${n.fsm.index}`);
    const idx = new Uint8Array(16);
    const view = new DataView(idx.buffer);
    view.setFloat64(0, e.index);
    view.setFloat64(8, e.term);
    const effect = e.type === 'normal' ? this.applySessionWrite(n, e) : '';
    const hash = crc32c(new TextEncoder().encode(effect), crc32c(e.data, crc32c(idx, n.fsm.hash)));
    const data = (e.type === 'confChange' ? 'c:' : 'n:') + hex(e.data);
    const prev = this.applied.get(e.index);
    if (prev === undefined) {
      this.applied.set(e.index, { term: e.term, data, hash });
      this.stats.committed = Math.max(this.stats.committed, e.index);
      if (e.type === 'confChange') this.onConfChangeCommitted(e);
    } else if (prev.term !== e.term || prev.data !== data || prev.hash !== hash) {
      this.fail(`node ${n.id} applied a different entry at ${e.index} (term ${e.term} vs ${prev.term})`);
    }
    if (e.type === 'normal' && e.data.length > 0 && !this.proposedData.has(hex(e.data))) {
      this.fail(`node ${n.id} applied data nobody proposed at ${e.index}`);
    }
    n.fsm.index = e.index;
    n.fsm.hash = hash;
  }

  /** Applies a session-tagged write through the session table; checks it takes effect at most once. */
  private applySessionWrite(n: SimNode, e: Entry): string {
    const w = parseSessionWrite(e.data);
    if (w === undefined) return '';
    const fsm = n.fsm;
    const before = fsm.sessions.size;
    fsm.sessions.advance(w.t);
    const tag = { client: new TextEncoder().encode(w.c), seq: w.s };
    const clientHex = hex(tag.client);
    const key = `${clientHex}:${w.s}`;
    const seen = fsm.sessions.check(tag);
    let effect: string;
    if (seen.kind === 'new') {
      if (fsm.effects.has(key)) this.fail(`node ${n.id} applied session write ${key} twice (at ${e.index})`);
      fsm.effects.add(key);
      fsm.sessions.record(tag, new TextEncoder().encode(String(e.index)), e.index);
      const first = this.sessionEffects.get(key);
      if (first === undefined) this.sessionEffects.set(key, e.index);
      else if (first !== e.index)
        this.fail(`write ${key} took effect at ${e.index} on ${n.id}, ${first} elsewhere`);
      effect = `A${key}`;
    } else if (seen.kind === 'duplicate') {
      const answered = Number(new TextDecoder().decode(seen.result));
      if (answered !== this.sessionEffects.get(key))
        this.fail(`duplicate of ${key} on ${n.id} answered ${answered}, not the first result`);
      this.stats.duplicatesAnswered++;
      effect = `D${key}`;
    } else {
      this.stats.staleRefused++;
      effect = `S${key}`;
    }
    if (fsm.sessions.size < before) this.stats.sessionsExpired += before - fsm.sessions.size;
    fsm.sessions.takeChanges();
    return effect;
  }

  private onConfChangeCommitted(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.stats.confChangesApplied++;
    if (cc.type === 'removeNode') this.removed.add(cc.nodeId);
  }

  /** A new leader of `term` holds every entry committed in an earlier term. */
  private checkLeaderCompleteness(n: SimNode, term: number): void {
    const base = n.disk.snapshot?.metadata.index ?? 0;
    for (const [index, cterm] of this.commitTerm) {
      if (cterm >= term || index <= base) continue;
      const entry = n.disk.entries[index - base - 1];
      const committed = this.applied.get(index);
      if (entry === undefined) this.fail(`leader ${n.id} of term ${term} lacks committed entry ${index}`);
      if (committed !== undefined && committed.term !== entry.term) {
        this.fail(`leader ${n.id} of term ${term} has a different entry at committed index ${index}`);
      }
    }
  }

  // ------------------------------------------------------------------ network

  private connected(a: number, b: number): boolean {
    if (this.groups.size === 0) return true;
    return (this.groups.get(a) ?? -1) === (this.groups.get(b) ?? -2);
  }

  private send(m: Message): void {
    const bytes = encodeMessage(m);
    const copies = this.faultsOn && this.rng.chance(this.duplicateRate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay =
        this.faultsOn && this.rng.chance(0.05) ? this.rng.int(1, 3 * ROUNDS_PER_TICK) : this.rng.int(1, 4);
      this.net.push({
        at: this.round + delay,
        bytes,
        from: m.from,
        to: m.to,
        isSnapshot: m.type === 'snapshot',
      });
    }
    if (m.type === 'snapshot') this.stats.snapshotsSent++;
  }

  private deliverDue(): void {
    const due: InFlight[] = [];
    const later: InFlight[] = [];
    for (const f of this.net) (f.at <= this.round ? due : later).push(f);
    this.net = later;
    this.rng.shuffle(due);
    for (const f of due) {
      const sender = this.nodes.get(f.from);
      const target = this.nodes.get(f.to);
      const lost =
        target === undefined ||
        target.raft === undefined ||
        !this.connected(f.from, f.to) ||
        (this.faultsOn && this.rng.chance(this.dropRate));
      if (lost) {
        this.stats.messagesDropped++;
        // The transport knows a send failed: tell the sender, as a driver would.
        if (sender?.raft !== undefined && this.rng.chance(0.1)) {
          if (f.isSnapshot) sender.raft.reportSnapshot(f.to, false);
          else sender.raft.reportUnreachable(f.to);
          this.drain(sender);
        }
        continue;
      }
      const m = decodeMessage(f.bytes);
      target.raft!.step(m);
      this.stats.messagesDelivered++;
      this.drain(target);
      if (f.isSnapshot && sender?.raft !== undefined) {
        sender.raft.reportSnapshot(f.to, true);
        this.drain(sender);
      }
    }
  }

  // ------------------------------------------------------------------ workload and faults

  private liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raft !== undefined);
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.liveNodes()) {
      const s = n.raft!.status();
      if (s.role === 'leader' && (best === undefined || s.term > best.raft!.status().term)) best = n;
    }
    return best;
  }

  /**
   * A client write with a session tag. A client retries its request (same tag) while it does not know the
   * outcome, sometimes once more after it took effect (the answer was lost), and gives up after
   * CLIENT_RETRY_TICKS; clients retire after a few requests (their sessions then expire).
   */
  private nextSessionWrite(): Uint8Array {
    if (this.clients.length < 4) {
      this.clients.push({
        id: `c${this.nextClient++}`,
        seq: 0,
        since: 0,
        done: true,
        giveUpAt: 0,
        requestsLeft: 0,
      });
    }
    const i = this.rng.int(0, this.clients.length - 1);
    const c = this.clients[i]!;
    let retry = false;
    if (!c.done) {
      const key = `${hex(new TextEncoder().encode(c.id))}:${c.seq}`;
      if (this.tickNo > c.giveUpAt) {
        c.done = true; // the client's retry window is over (outcome known or not)
      } else if (this.sessionEffects.has(key)) {
        if (this.rng.chance(0.3))
          retry = true; // the answer was lost on the way back
        else c.done = true;
      } else {
        retry = true;
      }
    }
    if (retry) {
      this.stats.sessionRetries++;
    } else {
      if (c.requestsLeft <= 0) {
        if (c.seq > 0) {
          this.clients.splice(i, 1);
          return this.nextSessionWrite();
        }
        c.requestsLeft = this.rng.int(3, 30);
      }
      c.requestsLeft--;
      c.seq++;
      c.since = this.tickNo;
      c.giveUpAt = this.tickNo + this.rng.int(2, CLIENT_RETRY_TICKS);
      c.done = false;
      this.stats.sessionWrites++;
    }
    const w: SessionWrite = { c: c.id, s: c.seq, t: this.tickNo * MS_PER_TICK };
    return new TextEncoder().encode(JSON.stringify(w));
  }

  private propose(): void {
    const n = this.rng.pick(this.liveNodes());
    const data = this.rng.chance(this.opts.sessionWriteShare)
      ? this.nextSessionWrite()
      : new TextEncoder().encode(`w${this.opts.seed}-${this.nextProposal++}`);
    this.proposedData.add(hex(data));
    let target = n;
    for (let hop = 0; hop < 2; hop++) {
      try {
        target.raft!.propose(data);
        this.drain(target);
        return;
      } catch (err) {
        if (err instanceof NotLeaderError) {
          const fwd = this.nodes.get(err.leaderId);
          if (err.leaderId === 0 || fwd?.raft === undefined) return;
          target = fwd; // forward to the known leader, as the service does
          continue;
        }
        if (err instanceof ProposalDroppedError) return;
        throw err;
      }
    }
  }

  private requestRead(): void {
    const n = this.rng.pick(this.liveNodes());
    const ctx = new TextEncoder().encode(`r${this.opts.seed}-${this.round}-${n.id}`);
    try {
      n.raft!.readIndex(ctx);
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      throw err;
    }
    this.pendingReads.set(hex(ctx), { minIndex: this.maxCommitSeen, node: n.id, requestedAt: this.tickNo });
    this.drain(n);
  }

  private changeMembership(): void {
    const l = this.leader();
    if (l === undefined) return;
    const s = l.raft!.status();
    try {
      if (s.voters.length > this.opts.nodes - 1 && this.rng.chance(0.5)) {
        const victim = this.rng.pick(s.voters);
        l.raft!.proposeConfChange({ type: 'removeNode', nodeId: victim });
      } else if (s.voters.length < this.opts.nodes + 1) {
        const id = this.nextNodeId++;
        const n: SimNode = {
          id,
          founding: false,
          disk: { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] },
          fsm: emptyFsm(),
          raft: undefined,
          restartAt: 0,
          lastRole: 'follower',
          lastCommit: 0,
        };
        this.nodes.set(id, n);
        this.start(n, []);
        l.raft!.proposeConfChange({ type: 'addNode', nodeId: id });
      } else {
        return;
      }
      this.drain(l);
    } catch (err) {
      if (err instanceof ConfChangeInProgressError || err instanceof ProposalDroppedError) return;
      if (err instanceof NotLeaderError || err instanceof RaftUsageError) return;
      throw err;
    }
  }

  private transfer(): void {
    const l = this.leader();
    if (l === undefined) return;
    const others = l.raft!.status().voters.filter((v) => v !== l.id);
    if (others.length === 0) return;
    const to = this.rng.pick(others);
    try {
      l.raft!.transferLeadership(to);
      this.transferRequests.set(to, l.raft!.status().term);
    } catch (err) {
      if (err instanceof NotLeaderError) return;
      throw err;
    }
    this.drain(l);
  }

  private compact(n: SimNode): void {
    const s = n.raft!.status();
    if (n.fsm.index - s.firstIndex < 20 || n.fsm.index !== s.applied) return;
    const snap = n.raft!.compact(n.fsm.index, encodeFsm(n.fsm));
    n.disk.snapshot = snap;
    const base = snap.metadata.index;
    n.disk.entries = n.disk.entries.filter((e) => e.index > base);
    this.stats.compactions++;
  }

  private changePartition(): void {
    const ids = [...this.nodes.keys()].filter((id) => !this.removed.has(id));
    this.groups = new Map();
    const kind = this.rng.int(0, 3);
    if (kind === 3) {
      // The leader keeps a minority with it: a stale leader that still hears from someone.
      const l = this.leader();
      const minority = this.rng.shuffle(ids.slice()).slice(0, Math.floor((ids.length - 1) / 2));
      if (l !== undefined && !minority.includes(l.id)) minority[0] = l.id;
      for (const id of ids) this.groups.set(id, minority.includes(id) ? 1 : 0);
    } else if (kind === 0) {
      const l = this.leader();
      const isolated = l?.id ?? this.rng.pick(ids);
      for (const id of ids) this.groups.set(id, id === isolated ? 1 : 0);
    } else if (kind === 1) {
      for (const id of ids) this.groups.set(id, this.rng.int(0, 1));
    } else {
      // One node hears nobody: it cannot win, and must not disrupt anyone when it returns.
      const loner = this.rng.pick(ids);
      for (const id of ids) this.groups.set(id, id === loner ? 1 : 0);
    }
    this.partitionUntil = this.tickNo + this.rng.int(this.opts.electionTick, 6 * this.opts.electionTick);
    this.stats.partitions++;
  }

  private chaos(): void {
    if (this.opts.partitions) {
      if (this.groups.size > 0 && this.tickNo >= this.partitionUntil) this.groups = new Map();
      else if (this.groups.size === 0 && this.rng.chance(0.01)) this.changePartition();
    }
    if (this.opts.crashes && this.rng.chance(0.01)) {
      const live = this.liveNodes().filter((n) => !this.removed.has(n.id));
      if (live.length > 0) this.crash(this.rng.pick(live));
    }
    if (this.opts.membership && this.rng.chance(0.005)) this.changeMembership();
    if (this.opts.transfers && this.rng.chance(0.005)) this.transfer();
  }

  // ------------------------------------------------------------------ main loop

  private tick(): void {
    this.tickNo++;
    this.stats.ticks = this.tickNo;
    for (const n of this.nodes.values()) {
      if (n.raft === undefined && !this.removed.has(n.id) && this.tickNo >= n.restartAt) {
        this.start(n, this.peersFor(n));
      }
      if (n.raft !== undefined && this.removed.has(n.id)) n.raft = undefined; // a removed member is shut down
    }
    if (this.faultsOn) this.chaos();
    if (this.rng.chance(this.opts.proposalRate) && this.liveNodes().length > 0) this.propose();
    if (this.opts.reads && this.rng.chance(this.groups.size > 0 ? 0.6 : 0.2) && this.liveNodes().length > 0) {
      this.requestRead();
    }
    for (let r = 0; r < ROUNDS_PER_TICK; r++) {
      this.round++;
      this.deliverDue();
      this.completeWrites();
    }
    for (const n of this.liveNodes()) {
      n.raft!.tick();
      this.drain(n);
      if (this.opts.compaction && n.raft !== undefined && !n.pendingWrite && this.rng.chance(0.05))
        this.compact(n);
    }
  }

  /** Runs chaos, heals, checks liveness and the end-of-run safety properties. Returns statistics. */
  run(): SimStats {
    for (let t = 0; t < this.opts.chaosTicks; t++) this.tick();
    this.heal();
    const start = this.tickNo;
    const target = this.livenessWrite(start);
    this.stats.livenessTicks = this.tickNo - start;
    this.checkLogMatching();
    this.checkConvergence(target);
    this.checkNothingCommittedLost();
    return this.stats;
  }

  private heal(): void {
    this.faultsOn = false;
    this.groups = new Map();
    for (const n of this.nodes.values()) {
      if (n.raft === undefined && !this.removed.has(n.id)) {
        n.restartAt = this.tickNo;
      }
    }
  }

  /** After healing: a leader is elected and a fresh write is applied by every voter within livenessTicks. */
  private livenessWrite(start: number): number {
    const data = new TextEncoder().encode(`liveness-${this.opts.seed}`);
    this.proposedData.add(hex(data));
    let index = 0;
    while (this.tickNo - start < this.opts.livenessTicks) {
      this.tick();
      const l = this.leader();
      if (l === undefined) continue;
      if (index === 0) {
        try {
          index = l.raft!.propose(data);
          this.drain(l);
        } catch (err) {
          if (!(err instanceof ProposalDroppedError)) throw err;
        }
        continue;
      }
      const committed = this.applied.get(index);
      if (committed !== undefined && committed.data !== 'n:' + hex(data)) {
        index = 0; // our write was overwritten before committing (leader changed): propose again
        continue;
      }
      const voters = l.raft!.status().voters;
      if (committed !== undefined && voters.every((v) => (this.nodes.get(v)?.fsm.index ?? 0) >= index)) {
        return index;
      }
    }
    return this.fail(`no leader/commit within ${this.opts.livenessTicks} ticks after healing`);
  }

  /** Every entry ever applied anywhere is still in the final leader's persisted log (or under its snapshot). */
  private checkNothingCommittedLost(): void {
    const l = this.leader()!;
    const base = l.disk.snapshot?.metadata.index ?? 0;
    for (const [index, committed] of this.applied) {
      if (index <= base) continue;
      const e = l.disk.entries[index - base - 1];
      if (e === undefined || e.term !== committed.term)
        this.fail(`committed entry ${index} lost by leader ${l.id}`);
    }
  }

  /** Log matching: if two persisted logs hold an entry with the same index and term, they agree up to it. */
  private checkLogMatching(): void {
    const byIndexTerm = new Map<string, string>();
    for (const n of this.nodes.values()) {
      for (const e of n.disk.entries) {
        const key = `${e.index}/${e.term}`;
        const val = e.type + hex(e.data);
        const seen = byIndexTerm.get(key);
        if (seen !== undefined && seen !== val) this.fail(`two different entries at ${key}`);
        byIndexTerm.set(key, val);
      }
    }
    const all = [...this.nodes.values()];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) {
        const a = all[i]!.disk;
        const b = all[j]!.disk;
        const bTerms = new Map(b.entries.map((e) => [e.index, e]));
        let highest = 0;
        for (const e of a.entries) if (bTerms.get(e.index)?.term === e.term) highest = e.index;
        for (const e of a.entries) {
          if (e.index > highest) break;
          const other = bTerms.get(e.index);
          if (other !== undefined && (other.term !== e.term || !bytesEqual(other.data, e.data))) {
            this.fail(`log matching broken between ${all[i]!.id} and ${all[j]!.id} at ${e.index}`);
          }
        }
      }
    }
  }

  /** Every voter applied the liveness write, and the same sequence (hash chain) up to where it stands. */
  private checkConvergence(index: number): void {
    const l = this.leader();
    if (l === undefined) this.fail('no leader at the end');
    for (const v of l.raft!.status().voters) {
      const n = this.nodes.get(v)!;
      if (n.fsm.index < index) this.fail(`voter ${v} did not apply ${index}`);
      if (this.applied.get(n.fsm.index)?.hash !== n.fsm.hash)
        this.fail(`voter ${v} diverged at ${n.fsm.index}`);
    }
  }
}
