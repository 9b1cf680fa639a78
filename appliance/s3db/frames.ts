/** Length-prefixed frames ([u32 big-endian length][payload]) over a byte stream. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

export function frame(payload: Uint8Array): Buffer[] {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(payload.length, 0);
  return [head, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

export class FrameError extends Error {}

/** Incremental decoder: push chunks, get whole payloads. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Uint8Array[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Uint8Array[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len > this.maxFrame) throw new FrameError(`frame of ${len} bytes exceeds ${this.maxFrame}`);
      if (this.buffered < 4 + len) break;
      const all = this.take(4 + len);
      out.push(new Uint8Array(all.buffer, all.byteOffset + 4, len));
    }
    return out;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(n: number): Buffer {
    const joined = this.peek(n);
    const out = joined.subarray(0, n);
    const rest = joined.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}
