// Feeds wire bytes to a FrameReceiver the two ways the transports do, cut into pieces at chosen points, and
// collects the frames. Both end with finish(), so a frame cut short surfaces as a thrown ProtocolError.
import { FRAME_HEADER_BYTES, encodeEnd, encodeSegment } from '../../../shared/protocol/index.ts';
import type { StreamFrame } from '../../../shared/protocol/frames.ts';
import type { FrameReceiver } from '../../../shared/protocol/frame-receiver.ts';

/** One write into a target the receiver handed out: `length` wire bytes from `wireAt` went to that region. */
export interface TargetWrite {
  buffer: ArrayBufferLike;
  byteOffset: number;
  wireAt: number;
  length: number;
}

/** The cut points inside `wire`, sorted, each once, with the end of the wire last. */
function pieceEnds(wire: Uint8Array, cuts: readonly number[]): number[] {
  const inside = [...new Set(cuts.filter((c) => c > 0 && c < wire.byteLength))].sort((a, b) => a - b);
  return [...inside, wire.byteLength];
}

function drain(r: FrameReceiver, out: StreamFrame[]): void {
  for (let f = r.shift(); f; f = r.shift()) out.push(f);
}

/**
 * Like a transport that reads straight into the receiver's targets (TLS `onread`): at most target().length
 * bytes per read, never across a cut. Every write is logged in `writes` when given.
 */
export function receiveInPlace(
  r: FrameReceiver,
  wire: Buffer,
  cuts: readonly number[],
  writes?: TargetWrite[],
): StreamFrame[] {
  const out: StreamFrame[] = [];
  let at = 0;
  for (const end of pieceEnds(wire, cuts)) {
    while (at < end) {
      const t = r.target();
      const n = Math.min(t.byteLength, end - at);
      wire.copy(t, 0, at, at + n);
      writes?.push({ buffer: t.buffer, byteOffset: t.byteOffset, wireAt: at, length: n });
      at += n;
      r.commit(n);
    }
    drain(r, out);
  }
  r.finish();
  drain(r, out);
  return out;
}

/** Like a transport that delivers chunks of its own (QUIC, the 'data' fallback): push() each piece. */
export function receivePushed(r: FrameReceiver, wire: Buffer, cuts: readonly number[]): StreamFrame[] {
  const out: StreamFrame[] = [];
  let at = 0;
  for (const end of pieceEnds(wire, cuts)) {
    r.push(wire.subarray(at, end));
    at = end;
    drain(r, out);
  }
  r.finish();
  drain(r, out);
  return out;
}

/** Bytes of a SEGMENT payload before its data: u32 index, u32 crc32c. */
const SEGMENT_PREFIX_BYTES = 8;

/** A PUT body: the segments, then END. Also where each segment's data starts on the wire. */
export function putBody(segments: Uint8Array[]): { wire: Buffer; dataStarts: number[] } {
  const frames = segments.map((s, i) => encodeSegment(i, i * 7, s));
  const dataStarts: number[] = [];
  let at = 0;
  for (const f of frames) {
    dataStarts.push(at + FRAME_HEADER_BYTES + SEGMENT_PREFIX_BYTES);
    at += f.byteLength;
  }
  return {
    wire: Buffer.concat([...frames, encodeEnd({ segmentCount: segments.length, crc: 1 })]),
    dataStarts,
  };
}
