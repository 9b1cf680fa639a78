// Frames over a DuplexStream: the glue between a transport stream and the pure protocol codecs.
//
// Receiving: a FrameReceiver parses the stream in place. On a transport that takes a sink (the TLS
// multiplexer), bytes are written where the parser says as they arrive — a SEGMENT's data straight into the
// destination the caller set (receiveSegmentsInto), so a shard is received into one buffer without
// intermediate copies. Other transports' chunks are copied into the same targets. Received bytes count
// against the stream's flow-control window until their frame is taken (next/nextFrame).
import type { Frame, StreamFrame } from '../protocol/frames.ts';
import { FrameType } from '../protocol/frames.ts';
import { FrameReceiver, type FrameReceiverOptions } from '../protocol/frame-receiver.ts';
import { encodeSegmentHeader } from '../protocol/messages.ts';
import type { DuplexStream } from './types.ts';

export interface FramedStreamOptions extends Pick<FrameReceiverOptions, 'maxSegmentPayload'> {
  /**
   * Called synchronously for each whole non-SEGMENT frame as it is parsed (before next()/nextFrame() return
   * it): the place to choose where the SEGMENT frames that follow should land (receiveSegmentsInto).
   */
  onFrame?: (frame: Frame, framed: FramedStream) => void;
}

export class FramedStream {
  private readonly receiver: FrameReceiver;
  private readonly sinkMode: boolean;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  /** Received bytes of each queued frame, released to flow control when the frame is taken. */
  private readonly held: number[] = [];
  private uncounted = 0;

  constructor(
    readonly stream: DuplexStream,
    options: FramedStreamOptions = {},
  ) {
    const onFrame = options.onFrame;
    this.receiver = new FrameReceiver({
      ...(options.maxSegmentPayload !== undefined ? { maxSegmentPayload: options.maxSegmentPayload } : {}),
      ...(onFrame !== undefined
        ? {
            onFrame: (frame: Frame) => {
              try {
                onFrame(frame, this);
              } catch {
                // the hook only prepares; the consumer meets the frame again and decides
              }
            },
          }
        : {}),
    });
    this.sinkMode = stream.setSink !== undefined && stream.release !== undefined;
    if (this.sinkMode) {
      stream.setSink?.({
        target: () => this.receiver.target(),
        commit: (n) => this.onCommit(n),
        end: () => {
          this.ended = true;
          this.wake();
        },
        fail: (err) => {
          this.failure = err;
          this.wake();
        },
      });
    }
  }

  /**
   * SEGMENT data received from now on is written into `buffer`, segment after segment from offset 0; such
   * segments come out of nextFrame() as one part, a subarray of `buffer`. `undefined` gives the buffer back:
   * after this call nothing more is written into it.
   */
  receiveSegmentsInto(buffer: Buffer | undefined): void {
    const withdrawn = buffer === undefined && this.receiver.targetInDestination;
    this.receiver.setDestination(buffer);
    if (withdrawn) this.stream.retarget?.();
  }

  private onCommit(n: number): void {
    const before = this.receiver.queued;
    this.receiver.commit(n);
    this.uncounted += n;
    if (this.receiver.queued !== before) {
      this.held.push(this.uncounted);
      this.uncounted = 0;
      this.wake();
    } else if (this.receiver.failed) this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private take(): StreamFrame | undefined {
    const f = this.receiver.shift();
    if (f !== undefined && this.sinkMode) this.stream.release?.(this.held.shift() ?? 0);
    return f;
  }

  /** Next frame, SEGMENT frames as SegmentFrames (data in one part); null when the peer ended cleanly between frames. */
  async nextFrame(): Promise<StreamFrame | null> {
    for (;;) {
      const frame = this.take();
      if (frame) return frame;
      if (this.failure) throw this.failure;
      if (this.ended) {
        this.receiver.finish();
        const last = this.take(); // throws if the stream ended inside a frame
        if (last) return last;
        return null;
      }
      if (this.sinkMode) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
        continue;
      }
      const chunk = await this.stream.read();
      if (chunk === null) this.ended = true;
      else this.receiver.push(chunk);
    }
  }

  /** Next frame whole (a SEGMENT's payload re-joined); null when the peer ended cleanly between frames. */
  async next(): Promise<Frame | null> {
    const frame = await this.nextFrame();
    if (frame === null || frame.type !== FrameType.SEGMENT) return frame;
    const payload = Buffer.allocUnsafe(8 + frame.length);
    payload.writeUInt32BE(frame.index, 0);
    payload.writeUInt32BE(frame.crc, 4);
    let at = 8;
    for (const p of frame.parts) {
      p.copy(payload, at);
      at += p.byteLength;
    }
    return { type: FrameType.SEGMENT, payload };
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
