// Synchronous, write-in-place parser of shard-protocol frames. Pure, no I/O.
//
// Instead of being handed chunks, it says where the next bytes should be written (`target()`) and is told how
// many were (`commit(n)`). A transport that can read straight into a given buffer (Node's `onread` user
// buffers) then lands a SEGMENT's data directly in the caller's destination — no intermediate buffer, no
// copy; one that cannot calls `push(chunk)`, which copies into the same targets.
import { copyIntoTargets } from '../bytes/copy-into-targets.ts';
import { ProtocolError } from './errors.ts';
import {
  DEFAULT_MAX_SEGMENT_PAYLOAD,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_CONTROL_PAYLOAD,
  type Frame,
  type FrameTypeCode,
  type StreamFrame,
} from './frames.ts';

/** Bytes of a SEGMENT payload before its data: u32 index, u32 crc32c. */
const SEGMENT_PREFIX_BYTES = 8;
const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

const HEADER = 0;
const PREFIX = 1;
const SEGMENT_DATA = 2;
const PAYLOAD = 3;
const FAILED = 4;

export interface FrameReceiverOptions {
  maxSegmentPayload?: number;
  /**
   * Called synchronously for every whole non-SEGMENT frame as soon as it is parsed, before it is queued:
   * lets a caller choose a segment destination (setDestination) before the SEGMENT frames that follow arrive.
   */
  onFrame?: (frame: Frame) => void;
}

export class FrameReceiver {
  private state = HEADER;
  private readonly header = Buffer.allocUnsafe(FRAME_HEADER_BYTES + SEGMENT_PREFIX_BYTES);
  /** Bytes of the header (or the segment prefix) filled so far. */
  private have = 0;
  private frameType: FrameTypeCode = FrameType.REQUEST;
  private body: Buffer = Buffer.alloc(0);
  private bodyAt = 0;
  private segIndex = 0;
  private segCrc = 0;
  private destination: Buffer | undefined;
  /** Data bytes of all SEGMENT frames begun so far: where in the destination the next segment goes. */
  private segmentOffset = 0;
  private readonly queue: StreamFrame[] = [];
  private failure: ProtocolError | undefined;
  private readonly maxSegmentPayload: number;

  constructor(private readonly options: FrameReceiverOptions = {}) {
    this.maxSegmentPayload = options.maxSegmentPayload ?? DEFAULT_MAX_SEGMENT_PAYLOAD;
  }

  /**
   * SEGMENT data from now on is written into `buffer` at its offset among all the segment bytes of the
   * stream (the first segment's data at 0, the next right after it…); a segment that begun before, or that
   * would not fit, gets a buffer of its own. Segments received in place come out as a SegmentFrame whose single part
   * is a subarray of `buffer`. `undefined` stops it (a segment half received moves to a buffer of its own);
   * the caller may then reuse the buffer once no transport holds a target inside it (targetInDestination).
   */
  setDestination(buffer: Buffer | undefined): void {
    if (this.targetInDestination) {
      // A segment half received into the old destination moves to a buffer of its own.
      const moved = Buffer.allocUnsafe(this.body.byteLength);
      this.body.copy(moved, 0, 0, this.bodyAt);
      this.body = moved;
    }
    this.destination = buffer;
  }

  /** Whether the last target() handed out lies in the current destination buffer. */
  get targetInDestination(): boolean {
    return (
      this.state === SEGMENT_DATA &&
      this.destination !== undefined &&
      this.body.buffer === this.destination.buffer
    );
  }

  /** Where the next received bytes go: a non-empty region; write up to its length, then call commit(). */
  target(): Buffer {
    switch (this.state) {
      case HEADER:
        return this.header.subarray(this.have, FRAME_HEADER_BYTES);
      case PREFIX:
        return this.header.subarray(
          FRAME_HEADER_BYTES + this.have,
          FRAME_HEADER_BYTES + SEGMENT_PREFIX_BYTES,
        );
      case SEGMENT_DATA:
      case PAYLOAD:
        return this.body.subarray(this.bodyAt);
      default:
        // After a failure, bytes are read and dropped.
        return this.header;
    }
  }

  /** `n` bytes (1 ≤ n ≤ target().length) were written at the start of the last target. */
  commit(n: number): void {
    switch (this.state) {
      case HEADER:
        this.have += n;
        if (this.have === FRAME_HEADER_BYTES) this.onHeader();
        return;
      case PREFIX:
        this.have += n;
        if (this.have === SEGMENT_PREFIX_BYTES) this.onPrefix();
        return;
      case SEGMENT_DATA:
      case PAYLOAD:
        this.bodyAt += n;
        if (this.bodyAt === this.body.byteLength) this.onBody();
        return;
      default:
        return;
    }
  }

  /** Copies `chunk` into the targets (for transports that deliver their own buffers). */
  push(chunk: Uint8Array): void {
    copyIntoTargets(
      chunk,
      () => this.target(),
      (n) => this.commit(n),
    );
  }

  /** The oldest parsed frame, or undefined. Throws the ProtocolError once the frames before it are taken. */
  shift(): StreamFrame | undefined {
    const f = this.queue.shift();
    if (f === undefined && this.failure) throw this.failure;
    return f;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The peer ended the stream: a frame cut short is an error. */
  finish(): void {
    if (this.failure) return;
    if (this.state !== HEADER || this.have !== 0) {
      this.failure = new ProtocolError('stream ended inside a frame', true);
      this.state = FAILED;
    }
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  private fail(message: string): void {
    this.failure = new ProtocolError(message);
    this.state = FAILED;
    this.destination = undefined;
  }

  private onHeader(): void {
    const type = this.header.readUInt8(0);
    const length = this.header.readUInt32BE(1);
    if (!KNOWN_TYPES.has(type)) return this.fail(`unknown frame type 0x${type.toString(16)}`);
    this.frameType = type as FrameTypeCode;
    this.have = 0;
    if (type === FrameType.SEGMENT) {
      if (length > this.maxSegmentPayload)
        return this.fail(`frame type 0x2 of ${length} bytes exceeds ${this.maxSegmentPayload}`);
      if (length < SEGMENT_PREFIX_BYTES) return this.fail(`SEGMENT: ${length} bytes is too short`);
      this.state = PREFIX;
      return;
    }
    if (length > MAX_CONTROL_PAYLOAD)
      return this.fail(`frame type 0x${type.toString(16)} of ${length} bytes exceeds ${MAX_CONTROL_PAYLOAD}`);
    this.body = Buffer.allocUnsafe(length);
    this.bodyAt = 0;
    this.state = PAYLOAD;
    if (length === 0) this.onBody();
  }

  private onPrefix(): void {
    this.segIndex = this.header.readUInt32BE(FRAME_HEADER_BYTES);
    this.segCrc = this.header.readUInt32BE(FRAME_HEADER_BYTES + 4);
    const length = this.header.readUInt32BE(1) - SEGMENT_PREFIX_BYTES;
    const d = this.destination;
    const at = this.segmentOffset;
    this.segmentOffset += length;
    if (d !== undefined && at + length <= d.byteLength) {
      this.body = d.subarray(at, at + length);
    } else {
      this.body = Buffer.allocUnsafe(length);
    }
    this.bodyAt = 0;
    this.state = SEGMENT_DATA;
    if (length === 0) this.onBody();
  }

  private onBody(): void {
    const body = this.body;
    this.body = Buffer.alloc(0);
    this.state = HEADER;
    this.have = 0;
    if (this.frameType === FrameType.SEGMENT) {
      this.queue.push({
        type: FrameType.SEGMENT,
        index: this.segIndex,
        crc: this.segCrc,
        parts: [body],
        length: body.byteLength,
      });
      return;
    }
    const frame = { type: this.frameType, payload: body } as StreamFrame & Frame;
    this.options.onFrame?.(frame);
    this.queue.push(frame);
  }
}
