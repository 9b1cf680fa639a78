// Message layer of the shard protocol: the payloads of REQUEST, SEGMENT, END, RESPONSE and ERROR frames.
// Pure encoders and strict decoders (exact lengths, range checks); every decode error is a ProtocolError.
import { FrameType, encodeFrame, frameHeader, FRAME_HEADER_BYTES } from './frames.ts';
import { ProtocolError, Status, isStatusCode, type StatusCode } from './errors.ts';
import { ByteReader, asBuffer } from '../bytes/index.ts';

export const PROTOCOL_VERSION = 1;
export const VERSION_ID_BYTES = 16;
export const WIRE_KEY_BYTES = VERSION_ID_BYTES + 4 + 1;
/** Most entries one LIST page may carry (a page must fit in one control frame). */
export const MAX_LIST_LIMIT = 10_000;
const MAX_MESSAGE_TEXT = 4096;
/** Longest request id, in bytes (printable ASCII, no spaces). */
export const MAX_REQUEST_ID_BYTES = 64;
/** Tag of the request-id field in a REQUEST's optional trailer. */
const TRAILER_REQUEST_ID = 1;

export const Op = {
  PUT_SHARD: 1,
  FETCH_SHARD: 2,
  DELETE_SHARD: 3,
  STAT: 4,
  LIST: 5,
  SHARD_STAT: 6,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];
const OP_NAMES = new Map<number, string>(Object.entries(Op).map(([k, v]) => [v, k]));
export function opName(op: number): string {
  return OP_NAMES.get(op) ?? `UNKNOWN(${op})`;
}

/** Shard identity on the wire: (version id, chunk index, shard index). Shard index < k is data, ≥ k parity. */
export interface WireShardKey {
  versionId: Uint8Array;
  chunkIndex: number;
  shardIndex: number;
}

export interface PutShardRequest {
  op: typeof Op.PUT_SHARD;
  key: WireShardKey;
  rsData: number;
  rsParity: number;
  segmentCount: number;
  /** Sum of the segment lengths that follow; lets the server reserve memory before reading them. */
  totalBytes: number;
}
export interface FetchShardRequest {
  op: typeof Op.FETCH_SHARD;
  key: WireShardKey;
  firstSegment: number;
  /** 0 means "through the last segment". */
  segmentCount: number;
}
export interface DeleteShardRequest {
  op: typeof Op.DELETE_SHARD;
  key: WireShardKey;
}
export interface StatRequest {
  op: typeof Op.STAT;
}
export interface ListRequest {
  op: typeof Op.LIST;
  /** Return shards whose key sorts strictly after this one. */
  after?: WireShardKey;
  limit: number;
}
export interface ShardStatRequest {
  op: typeof Op.SHARD_STAT;
  key: WireShardKey;
}
export type RequestBody =
  PutShardRequest | FetchShardRequest | DeleteShardRequest | StatRequest | ListRequest | ShardStatRequest;

export interface RequestMessage {
  version: number;
  /** Milliseconds the server has to complete the request; 0 = the server's default. */
  deadlineMs: number;
  body: RequestBody;
  /**
   * Optional id of the request that caused this one (e.g. the gateway's S3 request id), for logs: 1..64
   * printable ASCII characters without spaces. Sent in the REQUEST's optional trailer.
   */
  requestId?: string;
}

export interface ShardInfo {
  key: WireShardKey;
  rsData: number;
  rsParity: number;
  segmentCount: number;
  /** Logical bytes of all segments. */
  length: number;
}

export interface NodeStats {
  /** Shards held. */
  shardCount: number;
  /** Bytes of live shard data. */
  liveBytes: number;
  /** Bytes used by volume files, garbage included. */
  usedBytes: number;
  /** Capacity and free space of the file system holding the store. */
  diskTotalBytes: number;
  diskFreeBytes: number;
  /** Requests being served right now. */
  inflightRequests: number;
  uptimeSeconds: number;
  /** Anything else the store reports (numbers only). */
  extra?: Record<string, number>;
}

export type ResponseBody =
  | { op: typeof Op.PUT_SHARD }
  | { op: typeof Op.FETCH_SHARD; totalLength: number; firstSegment: number; segmentCount: number }
  | { op: typeof Op.DELETE_SHARD; existed: boolean }
  | { op: typeof Op.STAT; stats: NodeStats }
  | { op: typeof Op.LIST; entries: ShardInfo[]; nextAfter?: WireShardKey }
  | { op: typeof Op.SHARD_STAT; info: ShardInfo };

export type ResponseMessage =
  | { status: typeof Status.OK; body: ResponseBody }
  | { status: Exclude<StatusCode, typeof Status.OK>; op: number; message: string };

export interface EndMessage {
  segmentCount: number;
  crc: number;
}

export interface ErrorMessage {
  status: StatusCode;
  message: string;
}

// ---------- helpers ----------

class Writer {
  private parts: Buffer[] = [];
  u8(v: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeUInt8(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array): this {
    this.parts.push(asBuffer(v));
    return this;
  }
  key(k: WireShardKey): this {
    validateKey(k);
    return this.bytes(k.versionId).u32(k.chunkIndex).u8(k.shardIndex);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A reader of one message's payload: every error it throws is a ProtocolError naming the message. */
function reader(payload: Buffer, what: string): ByteReader {
  return new ByteReader(payload, (message, truncated) => new ProtocolError(`${what}: ${message}`, truncated));
}

function readKey(r: ByteReader): WireShardKey {
  const versionId = Uint8Array.from(r.raw(VERSION_ID_BYTES));
  return { versionId, chunkIndex: r.u32(), shardIndex: r.u8() };
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function validateKey(k: WireShardKey): void {
  if (!(k.versionId instanceof Uint8Array) || k.versionId.byteLength !== VERSION_ID_BYTES) {
    throw new ProtocolError(`shard key: versionId must be ${VERSION_ID_BYTES} bytes`);
  }
  if (!isU32(k.chunkIndex)) throw new ProtocolError(`shard key: chunkIndex ${k.chunkIndex} is not a u32`);
  if (!Number.isInteger(k.shardIndex) || k.shardIndex < 0 || k.shardIndex > 0xff) {
    throw new ProtocolError(`shard key: shardIndex ${k.shardIndex} is not a u8`);
  }
}

function checkU32(v: number, what: string): void {
  if (!isU32(v)) throw new ProtocolError(`${what} ${v} is not a u32`);
}

function checkRs(rsData: number, rsParity: number): void {
  if (!Number.isInteger(rsData) || rsData < 1 || rsData > 255)
    throw new ProtocolError(`rsData ${rsData} out of range`);
  if (!Number.isInteger(rsParity) || rsParity < 0 || rsParity > 255) {
    throw new ProtocolError(`rsParity ${rsParity} out of range`);
  }
}

function checkSafeLength(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new ProtocolError(`${what} ${v} is not a byte count`);
}

function text(message: string): Buffer {
  const b = Buffer.from(message, 'utf8');
  return b.byteLength > MAX_MESSAGE_TEXT ? b.subarray(0, MAX_MESSAGE_TEXT) : b;
}

function writeShardInfo(w: Writer, info: ShardInfo): void {
  checkRs(info.rsData, info.rsParity);
  checkU32(info.segmentCount, 'segmentCount');
  checkSafeLength(info.length, 'length');
  w.key(info.key).u8(info.rsData).u8(info.rsParity).u32(info.segmentCount).u64(info.length);
}

function readShardInfo(r: ByteReader): ShardInfo {
  const key = readKey(r);
  const rsData = r.u8();
  const rsParity = r.u8();
  checkRs(rsData, rsParity);
  return { key, rsData, rsParity, segmentCount: r.u32(), length: r.u64() };
}

// ---------- REQUEST ----------

export function encodeRequest(req: RequestMessage): Buffer {
  checkU32(req.deadlineMs, 'deadlineMs');
  const w = new Writer().u8(req.version).u8(req.body.op).u32(req.deadlineMs);
  const b = req.body;
  switch (b.op) {
    case Op.PUT_SHARD:
      checkRs(b.rsData, b.rsParity);
      checkU32(b.segmentCount, 'segmentCount');
      checkSafeLength(b.totalBytes, 'totalBytes');
      w.key(b.key).u8(b.rsData).u8(b.rsParity).u32(b.segmentCount).u64(b.totalBytes);
      break;
    case Op.FETCH_SHARD:
      checkU32(b.firstSegment, 'firstSegment');
      checkU32(b.segmentCount, 'segmentCount');
      w.key(b.key).u32(b.firstSegment).u32(b.segmentCount);
      break;
    case Op.DELETE_SHARD:
    case Op.SHARD_STAT:
      w.key(b.key);
      break;
    case Op.STAT:
      break;
    case Op.LIST:
      if (!Number.isInteger(b.limit) || b.limit < 1 || b.limit > MAX_LIST_LIMIT) {
        throw new ProtocolError(`list limit must be 1..${MAX_LIST_LIMIT}`);
      }
      w.u8(b.after ? 1 : 0);
      if (b.after) w.key(b.after);
      w.u32(b.limit);
      break;
    default:
      throw new ProtocolError(`unknown op ${(b as { op: number }).op}`);
  }
  if (req.requestId !== undefined) {
    const id = requestIdBytes(req.requestId);
    w.u8(TRAILER_REQUEST_ID).u8(id.byteLength).bytes(id);
  }
  return encodeFrame(FrameType.REQUEST, w.done());
}

/** Throws ProtocolError unless `id` is 1..64 printable ASCII characters without spaces. */
export function checkRequestId(id: string): void {
  requestIdBytes(id);
}

function requestIdBytes(id: string): Buffer {
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(id)) {
    throw new ProtocolError(
      `request id must be 1..${MAX_REQUEST_ID_BYTES} printable ASCII characters without spaces`,
    );
  }
  return Buffer.from(id, 'latin1');
}

/**
 * The REQUEST's optional trailer after the op fields: fields of `u8 tag, u8 length, bytes`. Requests
 * without one (all that older clients send) decode as before; tags this version does not know are skipped,
 * so later versions can add fields without breaking this decoder.
 */
function readRequestTrailer(r: ByteReader): { requestId?: string } {
  const out: { requestId?: string } = {};
  for (let fields = 0; r.remaining > 0; fields++) {
    if (fields >= 16) throw new ProtocolError('REQUEST: too many trailer fields');
    const tag = r.u8();
    const value = asBuffer(r.raw(r.u8()));
    if (tag !== TRAILER_REQUEST_ID) continue;
    if (out.requestId !== undefined) throw new ProtocolError('REQUEST: request id given twice');
    const id = value.toString('latin1');
    if (!/^[\x21-\x7e]{1,64}$/.test(id))
      throw new ProtocolError('REQUEST: request id is not 1..64 printable ASCII characters');
    out.requestId = id;
  }
  return out;
}

export function decodeRequest(payload: Buffer): RequestMessage {
  const r = reader(payload, 'REQUEST');
  const version = r.u8();
  const op = r.u8();
  const deadlineMs = r.u32();
  let body: RequestBody;
  switch (op) {
    case Op.PUT_SHARD: {
      const key = readKey(r);
      const rsData = r.u8();
      const rsParity = r.u8();
      checkRs(rsData, rsParity);
      body = { op, key, rsData, rsParity, segmentCount: r.u32(), totalBytes: r.u64() };
      break;
    }
    case Op.FETCH_SHARD:
      body = { op, key: readKey(r), firstSegment: r.u32(), segmentCount: r.u32() };
      break;
    case Op.DELETE_SHARD:
    case Op.SHARD_STAT:
      body = { op, key: readKey(r) };
      break;
    case Op.STAT:
      body = { op };
      break;
    case Op.LIST: {
      const flags = r.u8();
      if (flags > 1) throw new ProtocolError(`REQUEST: unknown LIST flags ${flags}`);
      const after = flags === 1 ? readKey(r) : undefined;
      const limit = r.u32();
      if (limit < 1 || limit > MAX_LIST_LIMIT)
        throw new ProtocolError(`REQUEST: list limit ${limit} out of range`);
      body = after ? { op, after, limit } : { op, limit };
      break;
    }
    default:
      throw new ProtocolError(`REQUEST: unknown op ${op}`);
  }
  const trailer = readRequestTrailer(r);
  r.expectEnd();
  return trailer.requestId === undefined
    ? { version, deadlineMs, body }
    : { version, deadlineMs, body, requestId: trailer.requestId };
}

/** Reads only version and op, for answering a request whose body cannot be decoded. */
export function peekRequestOp(payload: Buffer): { version: number; op: number } | undefined {
  if (payload.byteLength < 2) return undefined;
  return { version: payload.readUInt8(0), op: payload.readUInt8(1) };
}

// ---------- SEGMENT / END ----------

/** Header of a SEGMENT frame (frame header + index + crc), to be written before the segment bytes themselves. */
export function encodeSegmentHeader(index: number, crc: number, dataLength: number): Buffer {
  checkU32(index, 'segment index');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8);
  frameHeader(FrameType.SEGMENT, 8 + dataLength).copy(out, 0);
  out.writeUInt32BE(index, FRAME_HEADER_BYTES);
  out.writeUInt32BE(crc >>> 0, FRAME_HEADER_BYTES + 4);
  return out;
}

export function encodeSegment(index: number, crc: number, data: Uint8Array): Buffer {
  return Buffer.concat([encodeSegmentHeader(index, crc, data.byteLength), data]);
}

export function encodeEnd(end: EndMessage): Buffer {
  checkU32(end.segmentCount, 'segmentCount');
  return encodeFrame(
    FrameType.END,
    new Writer()
      .u32(end.segmentCount)
      .u32(end.crc >>> 0)
      .done(),
  );
}

export function decodeEnd(payload: Buffer): EndMessage {
  const r = reader(payload, 'END');
  const out = { segmentCount: r.u32(), crc: r.u32() };
  r.expectEnd();
  return out;
}

// ---------- RESPONSE ----------

export function encodeResponse(res: ResponseMessage): Buffer {
  const w = new Writer().u8(res.status);
  if (res.status !== Status.OK) {
    w.u8(res.op).bytes(text(res.message));
    return encodeFrame(FrameType.RESPONSE, w.done());
  }
  const b = res.body;
  w.u8(b.op);
  switch (b.op) {
    case Op.PUT_SHARD:
      break;
    case Op.FETCH_SHARD:
      checkSafeLength(b.totalLength, 'totalLength');
      checkU32(b.firstSegment, 'firstSegment');
      checkU32(b.segmentCount, 'segmentCount');
      w.u64(b.totalLength).u32(b.firstSegment).u32(b.segmentCount);
      break;
    case Op.DELETE_SHARD:
      w.u8(b.existed ? 1 : 0);
      break;
    case Op.STAT:
      w.bytes(Buffer.from(JSON.stringify(b.stats), 'utf8'));
      break;
    case Op.LIST:
      if (b.entries.length > MAX_LIST_LIMIT)
        throw new ProtocolError(`LIST page of ${b.entries.length} is too long`);
      w.u32(b.entries.length);
      for (const e of b.entries) writeShardInfo(w, e);
      w.u8(b.nextAfter ? 1 : 0);
      if (b.nextAfter) w.key(b.nextAfter);
      break;
    case Op.SHARD_STAT:
      writeShardInfo(w, b.info);
      break;
  }
  return encodeFrame(FrameType.RESPONSE, w.done());
}

const STAT_FIELDS = [
  'shardCount',
  'liveBytes',
  'usedBytes',
  'diskTotalBytes',
  'diskFreeBytes',
  'inflightRequests',
  'uptimeSeconds',
] as const;

function parseStats(bytes: Buffer): NodeStats {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ProtocolError('RESPONSE: STAT body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('RESPONSE: STAT body is not an object');
  }
  const obj = value as Record<string, unknown>;
  const stats = {} as NodeStats;
  for (const field of STAT_FIELDS) {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ProtocolError(`RESPONSE: STAT field ${field} is not a non-negative number`);
    }
    stats[field] = v;
  }
  if (obj.extra !== undefined) {
    if (typeof obj.extra !== 'object' || obj.extra === null || Array.isArray(obj.extra)) {
      throw new ProtocolError('RESPONSE: STAT extra is not an object');
    }
    const extra: Record<string, number> = {};
    for (const [k, v] of Object.entries(obj.extra as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isFinite(v)) extra[k] = v;
    }
    stats.extra = extra;
  }
  return stats;
}

export function decodeResponse(payload: Buffer): ResponseMessage {
  const r = reader(payload, 'RESPONSE');
  const status = r.u8();
  const op = r.u8();
  if (!isStatusCode(status)) throw new ProtocolError(`RESPONSE: unknown status ${status}`);
  if (status !== Status.OK) {
    return { status, op, message: asBuffer(r.rest()).toString('utf8') };
  }
  let body: ResponseBody;
  switch (op) {
    case Op.PUT_SHARD:
      body = { op };
      break;
    case Op.FETCH_SHARD:
      body = { op, totalLength: r.u64(), firstSegment: r.u32(), segmentCount: r.u32() };
      break;
    case Op.DELETE_SHARD: {
      const existed = r.u8();
      if (existed > 1) throw new ProtocolError('RESPONSE: DELETE existed flag is not 0/1');
      body = { op, existed: existed === 1 };
      break;
    }
    case Op.STAT:
      body = { op, stats: parseStats(asBuffer(r.rest())) };
      break;
    case Op.LIST: {
      const count = r.u32();
      if (count > MAX_LIST_LIMIT) throw new ProtocolError(`RESPONSE: LIST page of ${count} is too long`);
      const entries: ShardInfo[] = [];
      for (let i = 0; i < count; i++) entries.push(readShardInfo(r));
      const more = r.u8();
      if (more > 1) throw new ProtocolError('RESPONSE: LIST more flag is not 0/1');
      body = more === 1 ? { op, entries, nextAfter: readKey(r) } : { op, entries };
      break;
    }
    case Op.SHARD_STAT:
      body = { op, info: readShardInfo(r) };
      break;
    default:
      throw new ProtocolError(`RESPONSE: unknown op ${op}`);
  }
  r.expectEnd();
  return { status, body };
}

// ---------- ERROR ----------

export function encodeError(err: ErrorMessage): Buffer {
  return encodeFrame(FrameType.ERROR, new Writer().u8(err.status).bytes(text(err.message)).done());
}

export function decodeError(payload: Buffer): ErrorMessage {
  const r = reader(payload, 'ERROR');
  const status = r.u8();
  if (!isStatusCode(status)) throw new ProtocolError(`ERROR: unknown status ${status}`);
  return { status, message: asBuffer(r.rest()).toString('utf8') };
}
