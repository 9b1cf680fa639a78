// Compact binary encoding of Raft messages for the wire: version byte, type byte, then LEB128 varints
// (integers up to 2^53-1), length-prefixed byte strings, and one byte per boolean / entry type.
import type { Entry, Message, MessageType, Snapshot } from './types.ts';
import { RaftCodecError } from './errors.ts';

const VERSION = 1;

const TYPE_CODES: Record<MessageType, number> = {
  append: 1,
  appendResponse: 2,
  vote: 3,
  preVote: 4,
  voteResponse: 5,
  preVoteResponse: 6,
  heartbeat: 7,
  heartbeatResponse: 8,
  snapshot: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResponse: 12,
};
const CODE_TYPES = new Map<number, MessageType>(
  Object.entries(TYPE_CODES).map(([type, code]) => [code, type as MessageType]),
);

interface Sink {
  byte(b: number): void;
  uint(n: number): void;
  bytes(b: Uint8Array): void;
  bool(v: boolean): void;
}

function checkUint(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RaftCodecError(`cannot encode ${n}: not a non-negative integer`);
}

function checkBytes(b: Uint8Array): void {
  if (!(b instanceof Uint8Array)) throw new RaftCodecError('byte field is not a Uint8Array');
}

/** First pass: the exact encoded size (and every field validated), so the writer allocates once. */
class SizeCounter implements Sink {
  size = 0;
  byte(): void {
    this.size++;
  }
  uint(n: number): void {
    checkUint(n);
    let len = 1;
    while (n >= 0x80) {
      n = Math.floor(n / 0x80);
      len++;
    }
    this.size += len;
  }
  bytes(b: Uint8Array): void {
    checkBytes(b);
    this.uint(b.length);
    this.size += b.length;
  }
  bool(): void {
    this.size++;
  }
}

class Writer implements Sink {
  readonly buf: Uint8Array;
  len = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  byte(b: number): void {
    this.buf[this.len++] = b;
  }
  uint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }
  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  bool(v: boolean): void {
    this.byte(v ? 1 : 0);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw new RaftCodecError(`truncated message at byte ${this.pos}`);
    this.pos++;
    return b;
  }

  uint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new RaftCodecError('integer out of range');
        return result;
      }
      scale *= 0x80;
    }
    throw new RaftCodecError('varint too long');
  }

  bytes(): Uint8Array {
    const n = this.uint();
    if (this.pos + n > this.buf.length)
      throw new RaftCodecError(`byte field of ${n} bytes overruns the message`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bool(): boolean {
    const b = this.byte();
    if (b > 1) throw new RaftCodecError(`invalid boolean ${b}`);
    return b === 1;
  }

  end(): void {
    if (this.pos !== this.buf.length)
      throw new RaftCodecError(`${this.buf.length - this.pos} trailing bytes`);
  }
}

function writeEntry(w: Sink, e: Entry): void {
  w.uint(e.term);
  w.uint(e.index);
  w.byte(e.type === 'confChange' ? 1 : 0);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.uint();
  const index = r.uint();
  const t = r.byte();
  if (t > 1) throw new RaftCodecError(`invalid entry type ${t}`);
  return { term, index, type: t === 1 ? 'confChange' : 'normal', data: r.bytes() };
}

function writeSnapshot(w: Sink, s: Snapshot): void {
  w.uint(s.metadata.index);
  w.uint(s.metadata.term);
  w.uint(s.metadata.voters.length);
  for (const v of s.metadata.voters) w.uint(v);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uint();
  const term = r.uint();
  const n = r.uint();
  if (n > 1_000_000) throw new RaftCodecError(`implausible voter count ${n}`);
  const voters: number[] = [];
  for (let i = 0; i < n; i++) voters.push(r.uint());
  return { metadata: { index, term, voters }, data: r.bytes() };
}

function writeMessage(w: Sink, m: Message): void {
  w.byte(VERSION);
  const code = TYPE_CODES[m.type];
  if (code === undefined)
    throw new RaftCodecError(`unknown message type ${String((m as { type: unknown }).type)}`);
  w.byte(code);
  w.uint(m.from);
  w.uint(m.to);
  w.uint(m.term);
  switch (m.type) {
    case 'append':
      w.uint(m.index);
      w.uint(m.logTerm);
      w.uint(m.commit);
      w.uint(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      break;
    case 'appendResponse':
      w.uint(m.index);
      w.bool(m.reject);
      w.uint(m.rejectHint);
      w.uint(m.logTerm);
      break;
    case 'vote':
    case 'preVote':
      w.uint(m.index);
      w.uint(m.logTerm);
      w.bool(m.transfer);
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(m.reject);
      break;
    case 'heartbeat':
      w.uint(m.commit);
      w.bytes(m.context);
      break;
    case 'heartbeatResponse':
    case 'readIndex':
      w.bytes(m.context);
      break;
    case 'snapshot':
      writeSnapshot(w, m.snapshot);
      break;
    case 'timeoutNow':
      break;
    case 'readIndexResponse':
      w.uint(m.index);
      w.bytes(m.context);
      break;
  }
}

/** An append's entries follow its prev entry: contiguous indexes, terms between the prev term and the message term. */
export function checkAppendEntries(index: number, logTerm: number, term: number, entries: Entry[]): void {
  let prevTerm = logTerm;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.index !== index + 1 + i)
      throw new RaftCodecError(`append entry ${i} has index ${e.index}, expected ${index + 1 + i}`);
    if (e.term < prevTerm || e.term > term)
      throw new RaftCodecError(`append entry ${e.index} has out-of-order term ${e.term}`);
    prevTerm = e.term;
  }
}

export function encodeMessage(m: Message): Uint8Array {
  const counter = new SizeCounter();
  try {
    writeMessage(counter, m);
  } catch (err) {
    if (err instanceof RaftCodecError) throw err;
    throw new RaftCodecError(`malformed message: ${(err as Error).message}`);
  }
  const w = new Writer(counter.size);
  writeMessage(w, m);
  return w.buf;
}

/** Decodes bytes from encodeMessage; anything else throws RaftCodecError. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (!(bytes instanceof Uint8Array)) throw new RaftCodecError('message is not a Uint8Array');
  const r = new Reader(bytes);
  const version = r.byte();
  if (version !== VERSION) throw new RaftCodecError(`unsupported message version ${version}`);
  const code = r.byte();
  const type = CODE_TYPES.get(code);
  if (type === undefined) throw new RaftCodecError(`unknown message type code ${code}`);
  const from = r.uint();
  const to = r.uint();
  const term = r.uint();
  let m: Message;
  switch (type) {
    case 'append': {
      const index = r.uint();
      const logTerm = r.uint();
      const commit = r.uint();
      const n = r.uint();
      if (n > bytes.length) throw new RaftCodecError(`entry count ${n} exceeds message size`);
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      checkAppendEntries(index, logTerm, term, entries);
      m = { type, from, to, term, index, logTerm, commit, entries };
      break;
    }
    case 'appendResponse':
      m = {
        type,
        from,
        to,
        term,
        index: r.uint(),
        reject: r.bool(),
        rejectHint: r.uint(),
        logTerm: r.uint(),
      };
      break;
    case 'vote':
    case 'preVote':
      m = { type, from, to, term, index: r.uint(), logTerm: r.uint(), transfer: r.bool() };
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      m = { type, from, to, term, reject: r.bool() };
      break;
    case 'heartbeat':
      m = { type, from, to, term, commit: r.uint(), context: r.bytes() };
      break;
    case 'heartbeatResponse':
    case 'readIndex':
      m = { type, from, to, term, context: r.bytes() };
      break;
    case 'snapshot':
      m = { type, from, to, term, snapshot: readSnapshot(r) };
      break;
    case 'timeoutNow':
      m = { type, from, to, term };
      break;
    case 'readIndexResponse':
      m = { type, from, to, term, index: r.uint(), context: r.bytes() };
      break;
  }
  r.end();
  return m;
}

/**
 * JSON form of a message (for logs, debugging or a JSON transport): byte fields become {"$b64": "..."}.
 * messageFromJson validates the result as strictly as decodeMessage.
 */
export function messageToJson(m: Message): string {
  return JSON.stringify(m, (_key, value: unknown) =>
    value instanceof Uint8Array ? { $b64: Buffer.from(value).toString('base64') } : value,
  );
}

export function messageFromJson(json: string): Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json, (_key, value: unknown) => {
      if (value !== null && typeof value === 'object' && '$b64' in value) {
        const b64 = (value as { $b64: unknown }).$b64;
        if (typeof b64 !== 'string') throw new RaftCodecError('$b64 must be a string');
        return new Uint8Array(Buffer.from(b64, 'base64'));
      }
      return value;
    });
  } catch (err) {
    if (err instanceof RaftCodecError) throw err;
    throw new RaftCodecError(`invalid JSON message: ${(err as Error).message}`);
  }
  // Re-encoding checks every field's presence and type; decoding then yields exactly the known fields.
  try {
    return decodeMessage(encodeMessage(parsed as Message));
  } catch (err) {
    if (err instanceof RaftCodecError) throw err;
    throw new RaftCodecError(`invalid JSON message: ${(err as Error).message}`);
  }
}
