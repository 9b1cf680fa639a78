import { Level } from 'level';
import { ByteWriter } from './bytes.ts';
import type { Command, CommandResult } from './command.ts';
import { decodeResult, encodeResult } from './command.ts';
import { S3dbError } from './errors.ts';
import { bytesEqual, metaKey, prefixUpperBound, storageKey, tablePrefix, validateTable } from './keys.ts';
import { SessionTable, decodeSessionRecord, encodeSessionRecord } from './sessions.ts';
import { SNAPSHOT_MAGIC, readSnapshotRecords, writeSnapshotFile } from './snapshot-file.ts';
import type { SnapshotRef } from './snapshot-file.ts';
import type { SessionLimits } from './sessions.ts';

export interface StoredValue {
  value: Uint8Array;
  /** Raft index of the write that produced this value. */
  version: number;
}

export interface ScanRequest {
  table: string;
  prefix?: Uint8Array;
  /** Exclusive lower bound (the last key of the previous page). */
  startAfter?: Uint8Array;
  limit?: number;
}

export interface ScanItem extends StoredValue {
  key: Uint8Array;
}

export interface ScanResult {
  items: ScanItem[];
  /** True when more keys match after the last returned item. */
  truncated: boolean;
}

export interface ApplyItem {
  index: number;
  /** The entry's commands, applied in order; undefined for entries without commands (no-ops, conf changes). */
  commands?: Command[];
  /** The leader's clock stamped into the entry (ms; drives session expiry). */
  time?: number;
}

/** Internal table of client sessions (part of every snapshot): key [1][client id] → record, [0] → clock. */
export const SESSIONS_TABLE = '_sessions';
const CLOCK_KEY = storageKey(SESSIONS_TABLE, new Uint8Array([0]));
const sessionKey = (clientHex: string): Uint8Array =>
  storageKey(SESSIONS_TABLE, new Uint8Array(Buffer.from('01' + clientHex, 'hex')));

export const DEFAULT_SCAN_LIMIT = 1000;
export const MAX_SCAN_LIMIT = 10000;
const APPLIED = metaKey('applied');

function encodeStored(value: Uint8Array, version: number): Uint8Array {
  const out = new Uint8Array(8 + value.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(version));
  out.set(value, 8);
  return out;
}

function decodeStored(raw: Uint8Array): StoredValue {
  const version = Number(new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getBigUint64(0));
  return { version, value: new Uint8Array(raw.buffer, raw.byteOffset + 8, raw.byteLength - 8) };
}

function decodeIndex(raw: Uint8Array): number {
  return Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0));
}

function toHexString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function encodeIndex(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

/**
 * How long applied changes may wait before their LevelDB write is issued, so that one write carries many
 * applies (each write costs a thread-pool round trip and two context switches on every member). Nothing waits
 * on it: answers go out when results are known, and a read first lands what was applied (flushWrites).
 */
export const FSM_WRITE_DELAY_MS = 10;
/** A queued write is issued at once when it holds this many operations or value bytes. */
const MAX_QUEUED_OPS = 4096;
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface QueuedWrite {
  ops: Op[];
  bytes: number;
  /** Applied index the write brings the stored state to. */
  last: number;
  /** The values it writes, by hex storage key (null = deleted): dropped from `inflight` once landed. */
  values: Map<string, Uint8Array | null>;
  landed: Promise<void>;
  settle: (err?: Error) => void;
}

/**
 * The state machine: a LevelDB holding every table. Committed commands are applied in batches,
 * one LevelDB write per batch, together with the applied index so that state and index never diverge.
 * Writes are not fsynced: the Raft log is, and entries above the durable applied index are replayed.
 */
export class Fsm {
  /** Highest index whose write was issued (>= applied, which counts landed writes only). */
  private issued: number;
  /** Values written by batches that have not landed yet (null = deleted), by hex storage key. */
  private readonly inflight = new Map<string, Uint8Array | null>();
  private writeChain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Applied but not yet written: the next write batch (see FSM_WRITE_DELAY_MS). */
  private queued: QueuedWrite | undefined;
  private queueTimer: NodeJS.Timeout | undefined;

  /** Client sessions as of `issued` (persisted with each write batch). */
  readonly sessions: SessionTable;

  private constructor(
    private readonly db: Level<Uint8Array, Uint8Array>,
    private applied: number,
    limits: SessionLimits | undefined,
  ) {
    this.issued = applied;
    this.sessions = new SessionTable(limits);
  }

  static async open(dir: string, opts: { sessionLimits?: SessionLimits } = {}): Promise<Fsm> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    const raw = await db.get(APPLIED);
    const applied = raw ? Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0)) : 0;
    const fsm = new Fsm(db, applied, opts.sessionLimits);
    await fsm.loadSessions();
    return fsm;
  }

  private async loadSessions(): Promise<void> {
    this.sessions.clear();
    const base = tablePrefix(SESSIONS_TABLE);
    for await (const [k, v] of this.db.iterator({ gte: base, lt: prefixUpperBound(base)! })) {
      const key = k.subarray(base.length);
      if (key[0] === 0) this.sessions.loadClock(decodeIndex(v));
      else if (key[0] === 1) this.sessions.load(toHexString(key.subarray(1)), decodeSessionRecord(v));
    }
  }

  get appliedIndex(): number {
    return this.applied;
  }

  async close(): Promise<void> {
    this.flushWrites();
    await this.writeChain;
    await this.db.close();
  }

  /** Applies committed entries in order and waits until the write has landed; returns per item the results. */
  async apply(items: ApplyItem[]): Promise<(CommandResult[] | undefined)[]> {
    const { results, landed } = await this.applyPipelined(items);
    this.flushWrites();
    await landed;
    return results;
  }

  /** True when applied changes are queued or being written (the stored state is behind what was applied). */
  get writesPending(): boolean {
    return this.issued > this.applied;
  }

  /** Issues the queued write now (a reader waits for it) instead of after FSM_WRITE_DELAY_MS. */
  flushWrites(): void {
    if (this.queueTimer) clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    const q = this.queued;
    if (!q) return;
    this.queued = undefined;
    q.ops.push({ type: 'put', key: APPLIED, value: encodeIndex(q.last) });
    const written = this.writeChain.then(async () => {
      if (this.failure) throw this.failure;
      try {
        // A chained batch: the array form converts and validates every operation twice (abstract-level,
        // then the native binding reading each object's properties) and costs ~1.7x the CPU per write.
        const batch = this.db.batch();
        for (const op of q.ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
        await batch.write();
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
        throw this.failure;
      }
      this.applied = q.last;
      for (const [k, v] of q.values) if (this.inflight.get(k) === v) this.inflight.delete(k);
    });
    written.then(
      () => q.settle(),
      (err: Error) => q.settle(err),
    );
    this.writeChain = written.catch(() => {});
  }

  /** Lands everything applied so far: what reads of the stored state and snapshot decisions wait for. */
  async landWrites(): Promise<void> {
    this.flushWrites();
    await this.writeChain;
    if (this.failure) throw this.failure;
  }

  private enqueue(ops: Op[], values: Map<string, Uint8Array | null>, last: number): Promise<void> {
    let q = this.queued;
    if (!q) {
      let settle!: (err?: Error) => void;
      const landed = new Promise<void>((resolve, reject) => {
        settle = (err) => (err ? reject(err) : resolve());
      });
      landed.catch(() => {}); // observed by the callers that care; never an unhandled rejection
      q = { ops: [], bytes: 0, last, values: new Map(), landed, settle };
      this.queued = q;
    }
    for (const op of ops) {
      q.ops.push(op);
      q.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
    }
    for (const [k, v] of values) q.values.set(k, v);
    q.last = last;
    if (q.ops.length >= MAX_QUEUED_OPS || q.bytes >= MAX_QUEUED_BYTES) this.flushWrites();
    else if (!this.queueTimer) {
      this.queueTimer = setTimeout(() => this.flushWrites(), FSM_WRITE_DELAY_MS);
    }
    return q.landed;
  }

  /**
   * Applies committed entries in order: the results are known at once, the LevelDB write is queued (issued
   * within FSM_WRITE_DELAY_MS, or at once by flushWrites) and `landed` resolves when it is done (writes land in
   * issue order). `appliedIndex` — what linearizable reads wait for — moves only when a write has landed; later
   * applies already see earlier, still unwritten ones.
   */
  async applyPipelined(
    items: ApplyItem[],
  ): Promise<{ results: (CommandResult[] | undefined)[]; landed: Promise<void> }> {
    if (this.failure) throw this.failure;
    const pending = new Map<string, Uint8Array | null>();
    const ops: Op[] = [];
    const results: (CommandResult[] | undefined)[] = [];
    let last = this.issued;
    // Every key the commands will read, fetched in one LevelDB call up front (not one disk round per read).
    const fetched = await this.prefetch(items, last);
    const read = async (key: Uint8Array): Promise<StoredValue | undefined> => {
      const hex = Buffer.from(key).toString('hex');
      const overlay = pending.has(hex) ? pending.get(hex) : this.inflight.get(hex);
      if (overlay === null) return undefined;
      const raw = overlay ?? (fetched.has(hex) ? fetched.get(hex) : await this.db.get(key));
      return raw ? decodeStored(raw) : undefined;
    };
    const write = (key: Uint8Array, value: Uint8Array | null): void => {
      pending.set(Buffer.from(key).toString('hex'), value);
      ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
    };
    for (const item of items) {
      if (item.index <= last) {
        results.push(undefined);
        continue;
      }
      last = item.index;
      if (item.time) this.sessions.advance(item.time);
      if (!item.commands) {
        results.push(undefined);
        continue;
      }
      const out: CommandResult[] = [];
      for (const cmd of item.commands) {
        const tag = cmd.session;
        if (!tag) {
          out.push(await this.applyCommand(item.index, cmd, read, write));
          continue;
        }
        const seen = this.sessions.check(tag);
        if (seen.kind === 'duplicate') {
          out.push(decodeResult(seen.result));
        } else if (seen.kind === 'stale') {
          out.push({ type: 'stale', lastSeq: seen.lastSeq });
        } else {
          const r = await this.applyCommand(item.index, cmd, read, write);
          this.sessions.record(tag, encodeResult(r), item.index);
          out.push(r);
        }
      }
      results.push(out);
    }
    if (last === this.issued) return { results, landed: this.queued?.landed ?? this.writeChain };
    const changes = this.sessions.takeChanges();
    for (const { client, record } of changes.put) write(sessionKey(client), encodeSessionRecord(record));
    for (const client of changes.deleted) write(sessionKey(client), null);
    if (changes.clock !== undefined) write(CLOCK_KEY, encodeIndex(changes.clock));
    this.issued = last;
    for (const [k, v] of pending) this.inflight.set(k, v);
    return { results, landed: this.enqueue(ops, pending, last) };
  }

  /**
   * Reads in one `getMany` the stored values of the keys that the items' deletes and batch preconditions
   * will read and that no write still in flight covers (those are read from the overlay). No write is issued
   * while this runs (the caller awaits it before issuing its own), so the values stay current.
   */
  private async prefetch(items: ApplyItem[], after: number): Promise<Map<string, Uint8Array | undefined>> {
    const keys: Uint8Array[] = [];
    const hexes: string[] = [];
    const seen = new Set<string>();
    const want = (key: Uint8Array): void => {
      const hex = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex');
      if (this.inflight.has(hex) || seen.has(hex)) return;
      seen.add(hex);
      keys.push(key);
      hexes.push(hex);
    };
    for (const item of items) {
      if (item.index <= after || !item.commands) continue;
      for (const cmd of item.commands) {
        if (cmd.type === 'delete') want(storageKey(cmd.table, cmd.key));
        else if (cmd.type === 'batch') for (const p of cmd.preconditions) want(storageKey(p.table, p.key));
      }
    }
    const out = new Map<string, Uint8Array | undefined>();
    if (keys.length === 0) return out;
    const values = await this.db.getMany(keys);
    for (let i = 0; i < hexes.length; i++) out.set(hexes[i]!, values[i]);
    return out;
  }

  private async applyCommand(
    index: number,
    cmd: Command,
    read: (key: Uint8Array) => Promise<StoredValue | undefined>,
    write: (key: Uint8Array, value: Uint8Array | null) => void,
  ): Promise<CommandResult> {
    switch (cmd.type) {
      case 'put':
        write(storageKey(cmd.table, cmd.key), encodeStored(cmd.value, index));
        return { type: 'put', version: index };
      case 'delete': {
        const key = storageKey(cmd.table, cmd.key);
        const existed = (await read(key)) !== undefined;
        if (existed) write(key, null);
        return { type: 'delete', deleted: existed };
      }
      case 'batch': {
        for (let i = 0; i < cmd.preconditions.length; i++) {
          const p = cmd.preconditions[i]!;
          const current = await read(storageKey(p.table, p.key));
          let reason: string | undefined;
          if (p.kind === 'absent' && current) reason = 'key exists';
          else if (p.kind === 'exists' && !current) reason = 'key absent';
          else if (p.kind === 'valueEquals' && (!current || !bytesEqual(current.value, p.value))) {
            reason = current ? 'value differs' : 'key absent';
          } else if (p.kind === 'versionEquals' && (current?.version ?? 0) !== p.version) {
            reason = `version is ${current?.version ?? 0}`;
          }
          if (reason) return { type: 'batch', ok: false, failed: i, reason };
        }
        for (const op of cmd.ops) {
          const key = storageKey(op.table, op.key);
          write(key, op.kind === 'put' ? encodeStored(op.value, index) : null);
        }
        return { type: 'batch', ok: true, version: index };
      }
    }
  }

  async get(table: string, key: Uint8Array): Promise<StoredValue | undefined> {
    if (this.writesPending) await this.landWrites();
    const raw = await this.db.get(storageKey(table, key));
    return raw ? decodeStored(raw) : undefined;
  }

  /** Keys of one table in raw byte order, from `prefix` (or after `startAfter`), at most `limit`. */
  async scan(req: ScanRequest): Promise<ScanResult> {
    validateTable(req.table);
    const limit = req.limit ?? DEFAULT_SCAN_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SCAN_LIMIT) {
      throw new S3dbError('InvalidRequest', `limit must be 1..${MAX_SCAN_LIMIT}`);
    }
    if (this.writesPending) await this.landWrites();
    const base = tablePrefix(req.table);
    const lower = storageKey(req.table, req.prefix ?? new Uint8Array(0));
    const upper = prefixUpperBound(lower) ?? prefixUpperBound(base)!;
    const opts: { gte?: Uint8Array; gt?: Uint8Array; lt: Uint8Array; limit: number } = {
      lt: upper,
      limit: limit + 1,
    };
    const after = req.startAfter ? storageKey(req.table, req.startAfter) : undefined;
    if (after && Buffer.compare(after, lower) >= 0) opts.gt = after;
    else opts.gte = lower;
    const items: ScanItem[] = [];
    let truncated = false;
    for await (const [k, v] of this.db.iterator(opts)) {
      if (items.length === limit) {
        truncated = true;
        break;
      }
      items.push({
        key: new Uint8Array(k.buffer, k.byteOffset + base.length, k.byteLength - base.length),
        ...decodeStored(v),
      });
    }
    return { items, truncated };
  }

  /** The whole state as one byte string (applied index + every key/value). Small states and tests only. */
  async snapshot(): Promise<{ index: number; data: Uint8Array }> {
    await this.landWrites();
    const w = new ByteWriter(1 << 16);
    const index = this.applied;
    w.u32(SNAPSHOT_MAGIC).u64(index);
    for await (const [k, v] of this.db.iterator({ gte: new Uint8Array([1]) })) {
      w.u8(1).bytes(k).bytes(v);
    }
    w.u8(0);
    return { index, data: w.finish() };
  }

  /**
   * Writes the state at the applied index to a snapshot file in `dir` in bounded memory (LevelDB's iterator
   * reads one consistent version while applies go on) and returns its reference.
   */
  async snapshotToFile(dir: string): Promise<SnapshotRef> {
    await this.landWrites();
    const index = this.applied;
    const it = this.db.iterator({ gte: new Uint8Array([1]) });
    return writeSnapshotFile(dir, index, it);
  }

  /** Replaces the whole state with a snapshot: a file path, or the bytes of `snapshot()`. Returns its index. */
  async restore(source: string | Uint8Array): Promise<number> {
    const records = readSnapshotRecords(source);
    const head = await records.next();
    if (head.done || !('index' in head.value)) throw new S3dbError('Internal', 'not an s3db snapshot');
    const index = head.value.index;
    await this.landWrites();
    this.inflight.clear();
    await this.db.clear();
    let batch = this.db.batch();
    for await (const rec of records) {
      if (!('key' in rec)) continue;
      batch.put(rec.key, rec.value);
      if (batch.length >= 1000) {
        await batch.write();
        batch = this.db.batch();
      }
    }
    batch.put(APPLIED, encodeIndex(index));
    await batch.write({ sync: true });
    this.applied = index;
    this.issued = index;
    await this.loadSessions();
    return index;
  }
}
