// Framing of the TLS/TCP multiplexer: [u32 stream id][u8 type][u32 length][payload]. Pure, no I/O.
export const MuxFrameType = {
  /** Stream payload bytes. */
  DATA: 0,
  /** Client opens a new stream (odd ids, increasing). */
  OPEN: 1,
  /** Sender will send no more DATA on this stream (half-close). */
  END: 2,
  /** Abort the stream in both directions; payload: u32 reason code. */
  RESET: 3,
  /** Receiver grants the sender more bytes on this stream; payload: u32 increment. */
  WINDOW: 4,
  /** Keep-alive probe (stream 0); payload: 8 opaque bytes echoed by PONG. */
  PING: 5,
  PONG: 6,
} as const;
export type MuxFrameTypeCode = (typeof MuxFrameType)[keyof typeof MuxFrameType];

export const MUX_HEADER_BYTES = 9;
/** Largest DATA payload in one frame; larger writes are split. */
export const MUX_MAX_DATA = 256 * 1024;
/** Every stream starts with this much credit in each direction; receivers may grant more at once. */
export const MUX_INITIAL_WINDOW = 256 * 1024;

export const ResetCode = {
  CANCEL: 0,
  REFUSED: 1,
  FLOW_CONTROL: 2,
  PROTOCOL: 3,
} as const;

export interface MuxFrame {
  streamId: number;
  type: MuxFrameTypeCode;
  payload: Buffer;
}

export class MuxProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MuxProtocolError';
  }
}

export function muxHeader(streamId: number, type: MuxFrameTypeCode, length: number): Buffer {
  const h = Buffer.allocUnsafe(MUX_HEADER_BYTES);
  h.writeUInt32BE(streamId, 0);
  h.writeUInt8(type, 4);
  h.writeUInt32BE(length, 5);
  return h;
}

export function muxControl(streamId: number, type: MuxFrameTypeCode, payload?: Buffer): Buffer {
  const body = payload ?? Buffer.alloc(0);
  return Buffer.concat([muxHeader(streamId, type, body.byteLength), body]);
}

export function u32Payload(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

const MAX_CONTROL = 64;

/**
 * Incremental parser of mux frames. Throws MuxProtocolError on anything malformed.
 *
 * A DATA frame's body is not gathered into one buffer: it comes out as one or more DATA frames of the same
 * stream whose payloads are slices of the pushed chunks, as soon as those bytes are here (a 64 KiB frame read
 * from 16 KiB TLS records gives ~5 pieces, no copy). Flow control counts bytes, so pieces are as good as
 * whole frames to the session. Control frames (≤ 64 bytes) are returned whole.
 */
export class MuxDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Inside a DATA frame body: its stream and the bytes of it still to come. */
  private dataStream = 0;
  private dataLeft = 0;

  push(chunk: Buffer): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  next(): MuxFrame | undefined {
    if (this.dataLeft > 0) {
      if (this.buffered === 0) return undefined;
      const first = this.chunks[0] as Buffer;
      const n = Math.min(first.byteLength, this.dataLeft);
      this.dataLeft -= n;
      return { streamId: this.dataStream, type: MuxFrameType.DATA, payload: this.take(n) };
    }
    if (this.buffered < MUX_HEADER_BYTES) return undefined;
    const header = this.peekHeader();
    const streamId = header.readUInt32BE(0);
    const type = header.readUInt8(4);
    const length = header.readUInt32BE(5);
    if (type > MuxFrameType.PONG) throw new MuxProtocolError(`unknown mux frame type ${type}`);
    const limit = type === MuxFrameType.DATA ? MUX_MAX_DATA : MAX_CONTROL;
    if (length > limit)
      throw new MuxProtocolError(`mux frame type ${type} of ${length} bytes exceeds ${limit}`);
    if (type === MuxFrameType.DATA) {
      this.take(MUX_HEADER_BYTES);
      if (length === 0) return { streamId, type: MuxFrameType.DATA, payload: Buffer.alloc(0) };
      this.dataStream = streamId;
      this.dataLeft = length;
      return this.next();
    }
    if (this.buffered < MUX_HEADER_BYTES + length) return undefined;
    this.take(MUX_HEADER_BYTES);
    return { streamId, type: type as MuxFrameTypeCode, payload: this.take(length) };
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0] as Buffer;
    return first.byteLength >= MUX_HEADER_BYTES ? first : Buffer.concat(this.chunks, MUX_HEADER_BYTES);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.byteLength > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.byteLength === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.byteLength, n - filled);
      c.copy(out, filled, 0, k);
      filled += k;
      if (k === c.byteLength) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
