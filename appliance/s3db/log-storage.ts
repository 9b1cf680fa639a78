import { Level } from 'level';
import { ByteReader, ByteWriter } from './bytes.ts';
import { S3dbError } from './errors.ts';
import type { Entry, HardState, InitialState, Snapshot } from './raft/types.ts';

const HARD_STATE = new Uint8Array([0x68]); // 'h'
const SNAPSHOT = new Uint8Array([0x73]); // 's'
const ENTRY_PREFIX = 0x65; // 'e'

function entryKey(index: number): Uint8Array {
  const out = new Uint8Array(9);
  out[0] = ENTRY_PREFIX;
  new DataView(out.buffer).setBigUint64(1, BigInt(index));
  return out;
}

export function encodeEntry(e: Entry): Uint8Array {
  return new ByteWriter(32 + e.data.length)
    .u64(e.term)
    .u64(e.index)
    .u8(e.type === 'normal' ? 0 : 1)
    .bytes(e.data)
    .finish();
}

export function decodeEntry(raw: Uint8Array): Entry {
  const r = new ByteReader(raw);
  const term = r.u64();
  const index = r.u64();
  const type = r.u8() === 0 ? 'normal' : 'confChange';
  const data = r.bytes();
  r.expectEnd();
  return { term, index, type, data };
}

function encodeHardState(h: HardState): Uint8Array {
  return new ByteWriter(24).u64(h.term).u64(h.vote).u64(h.commit).finish();
}

function decodeHardState(raw: Uint8Array): HardState {
  const r = new ByteReader(raw);
  return { term: r.u64(), vote: r.u64(), commit: r.u64() };
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new ByteWriter(64 + s.data.length)
    .u64(s.metadata.index)
    .u64(s.metadata.term)
    .u32(s.metadata.voters.length);
  for (const v of s.metadata.voters) w.u64(v);
  return w.bytes(s.data).finish();
}

export function decodeSnapshot(raw: Uint8Array): Snapshot {
  const r = new ByteReader(raw);
  const index = r.u64();
  const term = r.u64();
  const n = r.u32();
  const voters: number[] = [];
  for (let i = 0; i < n; i++) voters.push(r.u64());
  const data = r.bytes();
  r.expectEnd();
  return { metadata: { index, term, voters }, data };
}

/**
 * Durable Raft state in its own LevelDB: hard state, the latest snapshot, and log entries keyed by index.
 * Every save is one atomic LevelDB batch; `sync` batches are fsynced (LevelDB's WAL), so one fsync covers
 * every entry and hard-state change of a Ready — many proposals per fsync. A torn tail after a crash is
 * discarded by LevelDB's WAL recovery, which loses only writes that were never acknowledged as synced.
 */
export class RaftLogStorage {
  /** Persisted entries are (firstIndex .. lastIndex]; firstIndex - 1 is the snapshot index (or 0). */
  private first = 1;
  private last = 0;

  private constructor(private readonly db: Level<Uint8Array, Uint8Array>) {}

  static async open(dir: string): Promise<RaftLogStorage> {
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new RaftLogStorage(db);
  }

  async load(): Promise<InitialState> {
    const hsRaw = await this.db.get(HARD_STATE);
    const snapRaw = await this.db.get(SNAPSHOT);
    const hardState = hsRaw ? decodeHardState(hsRaw) : { term: 0, vote: 0, commit: 0 };
    const snapshot = snapRaw ? decodeSnapshot(snapRaw) : undefined;
    const base = snapshot?.metadata.index ?? 0;
    const entries: Entry[] = [];
    for await (const [, v] of this.db.iterator({
      gt: entryKey(base),
      lte: entryKey(Number.MAX_SAFE_INTEGER),
    })) {
      const e = decodeEntry(v);
      const expected = base + entries.length + 1;
      if (e.index !== expected) {
        throw new S3dbError('Internal', `raft log has a gap: expected index ${expected}, found ${e.index}`);
      }
      entries.push(e);
    }
    this.first = base + 1;
    this.last = base + entries.length;
    const state: InitialState = { hardState, entries };
    if (snapshot) state.snapshot = snapshot;
    return state;
  }

  get firstIndex(): number {
    return this.first;
  }

  get lastIndex(): number {
    return this.last;
  }

  /**
   * Persists one Ready's worth of state in one batch: an optional received snapshot (which resets the log),
   * entries (overwriting any conflicting suffix) and the hard state.
   */
  async save(opts: {
    snapshot?: Snapshot;
    entries: Entry[];
    hardState?: HardState;
    sync: boolean;
  }): Promise<void> {
    const batch = this.db.batch();
    let first = this.first;
    let last = this.last;
    if (opts.snapshot) {
      for (let i = first; i <= last; i++) batch.del(entryKey(i));
      batch.put(SNAPSHOT, encodeSnapshot(opts.snapshot));
      first = opts.snapshot.metadata.index + 1;
      last = opts.snapshot.metadata.index;
    }
    const head = opts.entries[0];
    if (head) {
      if (head.index < first || head.index > last + 1) {
        throw new S3dbError('Internal', `entries start at ${head.index}, log holds ${first}..${last}`);
      }
      for (let i = head.index; i <= last; i++) batch.del(entryKey(i));
      for (const e of opts.entries) batch.put(entryKey(e.index), encodeEntry(e));
      last = opts.entries[opts.entries.length - 1]!.index;
    }
    if (opts.hardState) batch.put(HARD_STATE, encodeHardState(opts.hardState));
    if (batch.length === 0) {
      await batch.close();
      return;
    }
    await batch.write({ sync: opts.sync || opts.snapshot !== undefined });
    this.first = first;
    this.last = last;
  }

  /** Stores a snapshot taken locally and deletes the entries it covers (fsynced). */
  async compact(snapshot: Snapshot): Promise<void> {
    const upTo = Math.min(snapshot.metadata.index, this.last);
    const batch = this.db.batch();
    batch.put(SNAPSHOT, encodeSnapshot(snapshot));
    for (let i = this.first; i <= upTo; i++) batch.del(entryKey(i));
    await batch.write({ sync: true });
    this.first = Math.max(this.first, snapshot.metadata.index + 1);
    if (this.last < snapshot.metadata.index) this.last = snapshot.metadata.index;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
