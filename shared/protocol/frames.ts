// Frame layer of the shard protocol: [u8 type][u32 BE payload length][payload]. Pure, no I/O.
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
 * A SEGMENT frame as the FrameReceiver hands it out: its data bytes stay where they were received (`parts`, in
 * order, `length` bytes in all; one part, inside the destination the caller set or in a buffer of the
 * receiver's own). The CRC is the sender's, still to be checked.
 */
export interface SegmentFrame {
  type: typeof FrameType.SEGMENT;
  index: number;
  crc: number;
  parts: Buffer[];
  length: number;
}

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

/** A received frame: any frame but SEGMENT whole, SEGMENT as parts. */
export type StreamFrame = (Frame & { type: Exclude<FrameTypeCode, typeof FrameType.SEGMENT> }) | SegmentFrame;
