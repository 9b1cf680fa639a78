// Frames over a DuplexStream: the glue between a transport stream and the pure protocol codecs.
import { FrameDecoder, type Frame, type FrameDecoderOptions, type StreamFrame } from '../protocol/frames.ts';
import { encodeSegmentHeader } from '../protocol/messages.ts';
import type { DuplexStream } from './types.ts';

export class FramedStream {
  private readonly decoder: FrameDecoder;
  private ended = false;

  constructor(
    readonly stream: DuplexStream,
    options: FrameDecoderOptions = {},
  ) {
    this.decoder = new FrameDecoder(options);
  }

  /** Next frame; null when the peer ended cleanly between frames. ProtocolError on bad or truncated bytes. */
  async next(): Promise<Frame | null> {
    for (;;) {
      const frame = this.decoder.next();
      if (frame) return frame;
      if (this.ended) return null;
      const chunk = await this.stream.read();
      if (chunk === null) {
        this.ended = true;
        this.decoder.finish();
        return null;
      }
      this.decoder.push(chunk);
    }
  }

  /** Like next(), but SEGMENT frames come as SegmentFrames: their bytes left in the received chunks, no copy. */
  async nextFrame(): Promise<StreamFrame | null> {
    for (;;) {
      const frame = this.decoder.nextFrame();
      if (frame) return frame;
      if (this.ended) return null;
      const chunk = await this.stream.read();
      if (chunk === null) {
        this.ended = true;
        this.decoder.finish();
        return null;
      }
      this.decoder.push(chunk);
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.stream.write(bytes);
  }

  /** One SEGMENT frame, written as a single buffer so the transport sends it in as few packets as it can. */
  writeSegment(index: number, crc: number, data: Uint8Array): Promise<void> {
    const header = encodeSegmentHeader(index, crc, data.byteLength);
    if (this.stream.writeParts) {
      // Gathered write: the segment's bytes go to the socket as they are, no 64 KiB copy per segment.
      const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      return this.stream.writeParts([header, body]);
    }
    const frame = Buffer.allocUnsafe(header.byteLength + data.byteLength);
    header.copy(frame, 0);
    frame.set(data, header.byteLength);
    return this.stream.write(frame);
  }

  end(): Promise<void> {
    return this.stream.end();
  }

  abort(reason?: Error): void {
    this.stream.abort(reason);
  }
}
