import { ByteReader, ByteWriter } from './bytes.ts';
import { S3dbError } from './errors.ts';
import { validateKey, validateTable } from './keys.ts';

/**
 * Commands replicated through Raft and applied by the FSM. Keys and values are raw bytes and are
 * encoded length-prefixed, so any binary key survives the round trip (spec §5 "Command Structure").
 */
export type Precondition =
  | { kind: 'absent'; table: string; key: Uint8Array }
  | { kind: 'exists'; table: string; key: Uint8Array }
  | { kind: 'valueEquals'; table: string; key: Uint8Array; value: Uint8Array }
  /** version is the Raft index of the write that produced the current value; 0 means "absent". */
  | { kind: 'versionEquals'; table: string; key: Uint8Array; version: number };

export type BatchOp =
  | { kind: 'put'; table: string; key: Uint8Array; value: Uint8Array }
  | { kind: 'delete'; table: string; key: Uint8Array };

/**
 * A client session tag: the client's session id and this request's sequence number in it. A retry carries the
 * same tag, so the FSM applies the request once and answers duplicates with the first result (sessions.ts).
 */
export interface SessionTag {
  client: Uint8Array;
  seq: number;
}

export type Command = (
  | { type: 'put'; table: string; key: Uint8Array; value: Uint8Array }
  | { type: 'delete'; table: string; key: Uint8Array }
  | { type: 'batch'; preconditions: Precondition[]; ops: BatchOp[] }
) & { session?: SessionTag };

export type CommandResult =
  | { type: 'put'; version: number }
  | { type: 'delete'; deleted: boolean }
  | { type: 'batch'; ok: true; version: number }
  | { type: 'batch'; ok: false; failed: number; reason: string }
  /** The session already applied a later request: this one is an old retry and was not applied. */
  | { type: 'stale'; lastSeq: number };

/** A decoded entry payload: the leader's clock when it built the entry (ms; 0 = unknown) and its commands. */
export interface EntryPayload {
  time: number;
  commands: Command[];
}

/**
 * A log entry's payload: the commands proposed together (the driver groups concurrent proposals into one
 * entry, so one Raft round and one fsync carry many of them). They apply in order; each gets its own result.
 */
/** Format 2: [count][commands]. Format 3 (written since session tags): [u64 leader time][count][tagged commands]. */
const FORMAT_V2 = 2;
const FORMAT = 3;
export const MAX_COMMANDS_PER_ENTRY = 4096;
export const MAX_SESSION_ID_BYTES = 32;
const T_PUT = 1;
const T_DELETE = 2;
const T_BATCH = 3;
const P_ABSENT = 1;
const P_EXISTS = 2;
const P_VALUE = 3;
const P_VERSION = 4;
export const MAX_BATCH_OPS = 1000;

export function validateCommand(cmd: Command): void {
  switch (cmd.type) {
    case 'put':
    case 'delete':
      validateTable(cmd.table);
      validateKey(cmd.key);
      return;
    case 'batch':
      if (cmd.ops.length === 0 && cmd.preconditions.length === 0) {
        throw new S3dbError('InvalidCommand', 'batch has no operations');
      }
      if (cmd.ops.length > MAX_BATCH_OPS || cmd.preconditions.length > MAX_BATCH_OPS) {
        throw new S3dbError('InvalidCommand', `batch larger than ${MAX_BATCH_OPS} entries`);
      }
      for (const p of cmd.preconditions) {
        validateTable(p.table);
        validateKey(p.key);
        if (p.kind === 'versionEquals' && (!Number.isSafeInteger(p.version) || p.version < 0)) {
          throw new S3dbError('InvalidCommand', `bad version ${p.version}`);
        }
      }
      for (const op of cmd.ops) {
        validateTable(op.table);
        validateKey(op.key);
      }
      return;
    default:
      throw new S3dbError('InvalidCommand', 'unknown command type');
  }
}

export function validateSession(tag: SessionTag): void {
  if (tag.client.length === 0 || tag.client.length > MAX_SESSION_ID_BYTES)
    throw new S3dbError('InvalidRequest', `session id must be 1..${MAX_SESSION_ID_BYTES} bytes`);
  if (!Number.isSafeInteger(tag.seq) || tag.seq < 1)
    throw new S3dbError('InvalidRequest', `session sequence must be a positive integer, got ${tag.seq}`);
}

/** Encodes the commands of one log entry, stamped with the proposing leader's clock (`time`, ms). */
export function encodeCommands(commands: readonly Command[], time = 0): Uint8Array {
  const w = new ByteWriter(64 + commands.length * 300);
  w.u8(FORMAT)
    .u64(Math.max(0, Math.floor(time)))
    .u32(commands.length);
  for (const cmd of commands) {
    if (cmd.session) w.u8(1).bytes(cmd.session.client).u64(cmd.session.seq);
    else w.u8(0);
    writeCommand(w, cmd);
  }
  return w.finish();
}

export function decodeCommands(data: Uint8Array): Command[] {
  return decodeEntryPayload(data).commands;
}

/** Decodes an entry payload of either format (entries written before session tags stay readable). */
export function decodeEntryPayload(data: Uint8Array): EntryPayload {
  const r = new ByteReader(data);
  const format = r.u8();
  if (format !== FORMAT && format !== FORMAT_V2)
    throw new S3dbError('InvalidCommand', `unknown command format ${format}`);
  const time = format === FORMAT ? r.u64() : 0;
  const n = r.u32();
  if (n > MAX_COMMANDS_PER_ENTRY)
    throw new S3dbError('InvalidCommand', `too many commands in one entry: ${n}`);
  const out: Command[] = [];
  for (let i = 0; i < n; i++) {
    let session: SessionTag | undefined;
    if (format === FORMAT) {
      const tagged = r.u8();
      if (tagged === 1) session = { client: r.bytes(), seq: r.u64() };
      else if (tagged !== 0) throw new S3dbError('InvalidCommand', `bad session flag ${tagged}`);
    }
    const cmd = readCommand(r);
    if (session) {
      validateSession(session);
      cmd.session = session;
    }
    out.push(cmd);
  }
  r.expectEnd();
  return { time, commands: out };
}

/** Result bytes kept in a session for answering duplicates. */
export function encodeResult(result: CommandResult): Uint8Array {
  const w = new ByteWriter(32);
  switch (result.type) {
    case 'put':
      w.u8(1).u64(result.version);
      break;
    case 'delete':
      w.u8(2).u8(result.deleted ? 1 : 0);
      break;
    case 'batch':
      if (result.ok) w.u8(3).u64(result.version);
      else w.u8(4).u32(result.failed).str(result.reason);
      break;
    case 'stale':
      w.u8(5).u64(result.lastSeq);
      break;
  }
  return w.finish();
}

export function decodeResult(data: Uint8Array): CommandResult {
  const r = new ByteReader(data);
  const kind = r.u8();
  let out: CommandResult;
  if (kind === 1) out = { type: 'put', version: r.u64() };
  else if (kind === 2) out = { type: 'delete', deleted: r.u8() === 1 };
  else if (kind === 3) out = { type: 'batch', ok: true, version: r.u64() };
  else if (kind === 4) out = { type: 'batch', ok: false, failed: r.u32(), reason: r.str() };
  else if (kind === 5) out = { type: 'stale', lastSeq: r.u64() };
  else throw new S3dbError('InvalidCommand', `unknown result kind ${kind}`);
  r.expectEnd();
  return out;
}

function writeCommand(w: ByteWriter, cmd: Command): void {
  switch (cmd.type) {
    case 'put':
      w.u8(T_PUT).str(cmd.table).bytes(cmd.key).bytes(cmd.value);
      break;
    case 'delete':
      w.u8(T_DELETE).str(cmd.table).bytes(cmd.key);
      break;
    case 'batch':
      w.u8(T_BATCH).u32(cmd.preconditions.length);
      for (const p of cmd.preconditions) {
        switch (p.kind) {
          case 'absent':
            w.u8(P_ABSENT).str(p.table).bytes(p.key);
            break;
          case 'exists':
            w.u8(P_EXISTS).str(p.table).bytes(p.key);
            break;
          case 'valueEquals':
            w.u8(P_VALUE).str(p.table).bytes(p.key).bytes(p.value);
            break;
          case 'versionEquals':
            w.u8(P_VERSION).str(p.table).bytes(p.key).u64(p.version);
            break;
        }
      }
      w.u32(cmd.ops.length);
      for (const op of cmd.ops) {
        if (op.kind === 'put') w.u8(T_PUT).str(op.table).bytes(op.key).bytes(op.value);
        else w.u8(T_DELETE).str(op.table).bytes(op.key);
      }
      break;
  }
}

function readCommand(r: ByteReader): Command {
  const type = r.u8();
  let command: Command;
  if (type === T_PUT) {
    command = { type: 'put', table: r.str(), key: r.bytes(), value: r.bytes() };
  } else if (type === T_DELETE) {
    command = { type: 'delete', table: r.str(), key: r.bytes() };
  } else if (type === T_BATCH) {
    const nPre = r.u32();
    if (nPre > MAX_BATCH_OPS) throw new S3dbError('InvalidCommand', 'too many preconditions');
    const preconditions: Precondition[] = [];
    for (let i = 0; i < nPre; i++) {
      const kind = r.u8();
      const table = r.str();
      const key = r.bytes();
      if (kind === P_ABSENT) preconditions.push({ kind: 'absent', table, key });
      else if (kind === P_EXISTS) preconditions.push({ kind: 'exists', table, key });
      else if (kind === P_VALUE) preconditions.push({ kind: 'valueEquals', table, key, value: r.bytes() });
      else if (kind === P_VERSION)
        preconditions.push({ kind: 'versionEquals', table, key, version: r.u64() });
      else throw new S3dbError('InvalidCommand', `unknown precondition kind ${kind}`);
    }
    const nOps = r.u32();
    if (nOps > MAX_BATCH_OPS) throw new S3dbError('InvalidCommand', 'too many batch operations');
    const ops: BatchOp[] = [];
    for (let i = 0; i < nOps; i++) {
      const kind = r.u8();
      const table = r.str();
      const key = r.bytes();
      if (kind === T_PUT) ops.push({ kind: 'put', table, key, value: r.bytes() });
      else if (kind === T_DELETE) ops.push({ kind: 'delete', table, key });
      else throw new S3dbError('InvalidCommand', `unknown batch op ${kind}`);
    }
    command = { type: 'batch', preconditions, ops };
  } else {
    throw new S3dbError('InvalidCommand', `unknown command type ${type}`);
  }
  return command;
}
