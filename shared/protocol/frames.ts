// Frame layer of the shard protocol: [u8 type][u32 BE payload length][payload]. Pure, no I/O.
import { ProtocolError } from './errors.ts';

export const FrameType = {
  /** Client → server, first frame of every stream: what to do. */
  REQUEST: 0x01,
  /** One shard segment: [u32 index][u32 crc32c][bytes]. PUT body (client → server) and FETCH body (server → client). */
  SEGMENT: 0x02,
  /** End of a segment sequence: [u32 segment count][u32 crc32c of all segment bytes in order]. */
  END: 0x03,
  /** Server → client: outcome of the request. */
  RESPONSE: 0x04,
  /** Either side: the stream is aborted with a status and a message. */
  ERROR: 0x05,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER_BYTES = 5;
/** Largest control frame (REQUEST, RESPONSE, END, ERROR). LIST pages must fit. */
export const MAX_CONTROL_PAYLOAD = 1 << 20;
/** Default largest SEGMENT payload: a 64 KiB segment is the norm; allow up to 4 MiB segments. */
export const DEFAULT_MAX_SEGMENT_PAYLOAD = (4 << 20) + 8;

export interface Frame {
  type: FrameTypeCode;
  payload: Buffer;
}

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

export function frameHeader(type: FrameTypeCode, payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payloadLength, 1);
  return header;
}

/** One contiguous buffer holding a whole frame. */
export function encodeFrame(type: FrameTypeCode, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  out.writeUInt8(type, 0);
  out.writeUInt32BE(payload.byteLength, 1);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * A SEGMENT frame whose data bytes were left where they arrived: `parts` (slices of the received chunks, in
 * order) hold `length` bytes. Nothing was copied; the CRC is the sender's, still to be checked.
 */
export interface SegmentFrame {
  type: typeof FrameType.SEGMENT;
  index: number;
  crc: number;
  parts: Buffer[];
  length: number;
}
/** What FrameDecoder.nextFrame() returns: any frame but SEGMENT whole, SEGMENT as parts. */
/**
 * Puts a SEGMENT frame's parts at `segment` (a region of the receiver's buffer). Nothing to copy when the
 * frame already landed there in one piece (the in-place receive path); otherwise the parts are copied in.
 */
export function placeSegmentParts(parts: readonly Uint8Array[], segment: Uint8Array): void {
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only?.buffer === segment.buffer && only.byteOffset === segment.byteOffset) return;
  let at = 0;
  for (const part of parts) {
    segment.set(part, at);
    at += part.byteLength;
  }
}

export type StreamFrame = (Frame & { type: Exclude<FrameTypeCode, typeof FrameType.SEGMENT> }) | SegmentFrame;

/** Bytes of a SEGMENT payload before its data: u32 index, u32 crc32c. */
const SEGMENT_PREFIX_BYTES = 8;

export interface FrameDecoderOptions {
  maxSegmentPayload?: number;
}

/**
 * Incremental frame parser: push() bytes as they arrive, take frames with next(). Rejects unknown types and
 * oversized lengths as soon as the header is seen, so a hostile length never makes it allocate.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxSegmentPayload: number;
  private failed: ProtocolError | undefined;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxSegmentPayload = options.maxSegmentPayload ?? DEFAULT_MAX_SEGMENT_PAYLOAD;
  }

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    this.buffered += chunk.byteLength;
  }

  /** The next complete frame, or undefined if more bytes are needed. Throws ProtocolError on invalid input. */
  next(): Frame | undefined {
    if (this.failed) throw this.failed;
    if (this.buffered < FRAME_HEADER_BYTES) return undefined;
    const header = this.peek(FRAME_HEADER_BYTES);
    const type = header.readUInt8(0);
    const length = header.readUInt32BE(1);
    if (!KNOWN_TYPES.has(type)) return this.fail(`unknown frame type 0x${type.toString(16)}`);
    const limit = type === FrameType.SEGMENT ? this.maxSegmentPayload : MAX_CONTROL_PAYLOAD;
    if (length > limit)
      return this.fail(`frame type 0x${type.toString(16)} of ${length} bytes exceeds ${limit}`);
    if (this.buffered < FRAME_HEADER_BYTES + length) return undefined;
    this.consume(FRAME_HEADER_BYTES);
    const payload = this.consume(length);
    return { type: type as FrameTypeCode, payload };
  }

  /**
   * Like next(), but a SEGMENT frame comes back as a SegmentFrame whose data stays in the received chunks
   * (no join copy when a segment spans several chunks).
   */
  nextFrame(): StreamFrame | undefined {
    if (this.failed) throw this.failed;
    if (this.buffered < FRAME_HEADER_BYTES) return undefined;
    const header = this.peek(FRAME_HEADER_BYTES);
    if (header.readUInt8(0) !== FrameType.SEGMENT) return this.next() as StreamFrame | undefined;
    const length = header.readUInt32BE(1);
    if (length > this.maxSegmentPayload)
      return this.fail(`frame type 0x2 of ${length} bytes exceeds ${this.maxSegmentPayload}`);
    if (this.buffered < FRAME_HEADER_BYTES + length) return undefined;
    if (length < SEGMENT_PREFIX_BYTES) {
      this.consume(FRAME_HEADER_BYTES + length);
      return this.fail(`SEGMENT: ${length} bytes is too short`);
    }
    this.consume(FRAME_HEADER_BYTES);
    const prefix = this.consume(SEGMENT_PREFIX_BYTES);
    const dataLength = length - SEGMENT_PREFIX_BYTES;
    return {
      type: FrameType.SEGMENT,
      index: prefix.readUInt32BE(0),
      crc: prefix.readUInt32BE(4),
      parts: this.consumeParts(dataLength),
      length: dataLength,
    };
  }

  /** Call when the stream ended: throws if a partial frame is left over. */
  finish(): void {
    if (this.failed) throw this.failed;
    if (this.buffered > 0) {
      this.failed = new ProtocolError(`stream ended inside a frame (${this.buffered} bytes left)`, true);
      throw this.failed;
    }
  }

  private fail(message: string): never {
    this.failed = new ProtocolError(message);
    this.chunks = [];
    this.buffered = 0;
    throw this.failed;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.byteLength >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks, n);
  }

  /** The next n bytes as slices of the buffered chunks (n ≤ buffered). */
  private consumeParts(n: number): Buffer[] {
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[0] as Buffer;
      if (chunk.byteLength <= left) {
        parts.push(chunk);
        this.chunks.shift();
        left -= chunk.byteLength;
      } else {
        parts.push(chunk.subarray(0, left));
        this.chunks[0] = chunk.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
    return parts;
  }

  private consume(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0] as Buffer;
    if (first.byteLength > n) {
      this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return first.subarray(0, n);
    }
    if (first.byteLength === n) {
      this.chunks.shift();
      this.buffered -= n;
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const take = Math.min(chunk.byteLength, n - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
      if (take === chunk.byteLength) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    this.buffered -= n;
    return out;
  }
}
