import { ByteReader, ByteWriter } from './bytes.ts';
import type { SessionTag } from './command.ts';

/**
 * Client sessions for exactly-once writes (Raft thesis §6.3). A client tags every write with (session id,
 * sequence); it has at most one request in flight per session and retries it with the same tag. The FSM keeps,
 * per session, the last applied sequence and its result:
 *   seq >  last  → new: apply it and remember the result;
 *   seq == last  → a retry of the last request: answer the remembered result, apply nothing;
 *   seq <  last  → an old retry overtaken by a newer request of the same session: refuse it (stale).
 *
 * Everything here is decided from replicated state only, so every member keeps the same table: the clock is
 * the leader's time stamped into each log entry (never this node's clock), made monotonic; sessions idle for
 * `ttlMs` of that clock are dropped when the clock crosses a sweep boundary; past `maxSessions` the least
 * recently used ones (by log index, then id) go. Pure: no I/O; the FSM persists what `takeChanges()` reports.
 */
export interface SessionRecord {
  /** Last applied sequence. */
  seq: number;
  /** Replicated clock (ms) and log index when the session was last used. */
  lastTime: number;
  lastIndex: number;
  /** encodeResult() of the last applied request. */
  result: Uint8Array;
}

export interface SessionLimits {
  /** Idle time (replicated clock) after which a session is forgotten. Default 10 minutes. */
  ttlMs: number;
  /** Sessions kept at most; beyond it the least recently used are dropped. Default 100 000. */
  maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { ttlMs: 10 * 60_000, maxSessions: 100_000 };
/** Expired sessions are swept whenever the replicated clock crosses a multiple of this. */
export const SESSION_SWEEP_MS = 10_000;

export type SessionCheck =
  { kind: 'new' } | { kind: 'duplicate'; result: Uint8Array } | { kind: 'stale'; lastSeq: number };

export interface SessionChanges {
  put: { client: string; record: SessionRecord }[];
  deleted: string[];
  /** The clock, when it moved. */
  clock?: number;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class SessionTable {
  private readonly sessions = new Map<string, SessionRecord>();
  private clockMs = 0;
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private clockMoved = false;

  constructor(private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS) {}

  get clock(): number {
    return this.clockMs;
  }

  get size(): number {
    return this.sessions.size;
  }

  get(client: Uint8Array | string): SessionRecord | undefined {
    return this.sessions.get(typeof client === 'string' ? client : hexOf(client));
  }

  /** Restores state loaded from disk or a snapshot (not reported as changes). */
  load(client: string, record: SessionRecord): void {
    this.sessions.set(client, record);
  }

  loadClock(clock: number): void {
    this.clockMs = clock;
  }

  clear(): void {
    this.sessions.clear();
    this.dirty.clear();
    this.removed.clear();
    this.clockMs = 0;
    this.clockMoved = false;
  }

  /** Moves the replicated clock to the leader time of an entry (never backwards) and sweeps idle sessions. */
  advance(time: number): void {
    if (!(time > this.clockMs)) return;
    const before = this.clockMs;
    this.clockMs = time;
    this.clockMoved = true;
    if (Math.floor(before / SESSION_SWEEP_MS) === Math.floor(time / SESSION_SWEEP_MS)) return;
    const oldest = time - this.limits.ttlMs;
    for (const [client, rec] of this.sessions) if (rec.lastTime < oldest) this.drop(client);
  }

  check(tag: SessionTag): SessionCheck {
    const rec = this.sessions.get(hexOf(tag.client));
    if (!rec || tag.seq > rec.seq) return { kind: 'new' };
    if (tag.seq === rec.seq) return { kind: 'duplicate', result: rec.result };
    return { kind: 'stale', lastSeq: rec.seq };
  }

  /** Records the result of a newly applied request (check() said 'new'). */
  record(tag: SessionTag, result: Uint8Array, index: number): void {
    const client = hexOf(tag.client);
    const isNew = !this.sessions.has(client);
    this.sessions.set(client, { seq: tag.seq, lastTime: this.clockMs, lastIndex: index, result });
    this.dirty.add(client);
    this.removed.delete(client);
    if (isNew && this.sessions.size > this.limits.maxSessions) this.evict();
  }

  /** Drops the least recently used sessions down to 90% of the limit, in a replica-independent order. */
  private evict(): void {
    const target = Math.floor(this.limits.maxSessions * 0.9);
    const order = [...this.sessions].sort(
      ([a, ra], [b, rb]) => ra.lastIndex - rb.lastIndex || (a < b ? -1 : a > b ? 1 : 0),
    );
    for (let i = 0; i < order.length && this.sessions.size > target; i++) this.drop(order[i]![0]);
  }

  private drop(client: string): void {
    this.sessions.delete(client);
    this.dirty.delete(client);
    this.removed.add(client);
  }

  /** What changed since the last call (for the FSM's write batch). */
  takeChanges(): SessionChanges {
    const out: SessionChanges = {
      put: [...this.dirty].map((client) => ({ client, record: this.sessions.get(client)! })),
      deleted: [...this.removed],
    };
    if (this.clockMoved) out.clock = this.clockMs;
    this.dirty.clear();
    this.removed.clear();
    this.clockMoved = false;
    return out;
  }

  /** Every session in a stable order (for snapshots in the simulation). */
  entries(): [string, SessionRecord][] {
    return [...this.sessions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

export function encodeSessionRecord(rec: SessionRecord): Uint8Array {
  return new ByteWriter(32 + rec.result.length)
    .u64(rec.seq)
    .u64(rec.lastTime)
    .u64(rec.lastIndex)
    .bytes(rec.result)
    .finish();
}

export function decodeSessionRecord(raw: Uint8Array): SessionRecord {
  const r = new ByteReader(raw);
  const rec = { seq: r.u64(), lastTime: r.u64(), lastIndex: r.u64(), result: r.bytes() };
  r.expectEnd();
  return rec;
}
