// Feeds wire bytes to a FrameReceiver the two ways the transports do, cut into pieces at chosen points, and
// collects the frames. Both end with finish(), so a frame cut short surfaces as a thrown ProtocolError.
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
