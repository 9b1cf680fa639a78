// A multiplexed session over one TLS socket: many request streams, each with credit-based flow control so a
// stream whose reader is slow holds back only its own sender, and keep-alive pings to notice a dead peer.
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  MUX_HEADER_BYTES,
  MUX_INITIAL_WINDOW,
  MUX_MAX_DATA,
  MuxFrameType,
  MuxProtocolError,
  ResetCode,
  muxControl,
  muxHeader,
  u32Payload,
  type MuxFrameTypeCode,
} from './mux-codec.ts';
import { copyIntoTargets } from '../bytes/copy-into-targets.ts';
import { readInto, type DirectReader } from './direct-read.ts';
import {
  DEAD_PEER_TIMEOUT_MS,
  KEEP_ALIVE_INTERVAL_MS,
  TransportError,
  type DuplexStream,
  type ReceiveSink,
} from './types.ts';

export interface MuxOptions {
  /** Receive window per stream (bytes buffered for a reader that has not read them yet). */
  streamWindow: number;
  /** Streams the peer may have open at once (enforced on the accepting side). */
  maxStreams: number;
}

export const DEFAULT_MUX_OPTIONS: MuxOptions = { streamWindow: 2 << 20, maxStreams: 64 };

class MuxStream implements DuplexStream {
  private queue: Buffer[] = [];
  private readEnded = false;
  private writeEnded = false;
  private failure: TransportError | undefined;
  private readWaiter: (() => void) | undefined;
  private creditWaiter: (() => void) | undefined;
  /** Bytes we may still send. */
  sendCredit = MUX_INITIAL_WINDOW;
  /** Bytes the peer may still send us before we grant more. */
  recvCredit = MUX_INITIAL_WINDOW;
  /** Bytes read by the application that have not been granted back yet. */
  private consumed = 0;
  /** Where received bytes go when the consumer set one (setSink); otherwise they queue for read(). */
  sink: ReceiveSink | undefined;

  constructor(
    readonly id: number,
    private readonly session: MuxSession,
  ) {}

  get finished(): boolean {
    return this.failure !== undefined || (this.readEnded && this.writeEnded && this.queue.length === 0);
  }

  // ---- events from the session ----
  /** A DATA frame of `length` bytes is announced: false (and the stream reset) if it exceeds the window. */
  admit(length: number): boolean {
    if (this.readEnded || this.failure) return false;
    if (length > this.recvCredit) {
      this.session.reset(this, ResetCode.FLOW_CONTROL, 'peer sent beyond its flow-control window');
      return false;
    }
    this.recvCredit -= length;
    return true;
  }
  onData(payload: Buffer): void {
    if (this.readEnded || this.failure) return;
    this.queue.push(payload);
    this.wakeReader();
  }
  onEnd(): void {
    this.readEnded = true;
    this.sink?.end();
    this.wakeReader();
    this.session.maybeForget(this);
  }
  onWindow(increment: number): void {
    this.sendCredit += increment;
    const w = this.creditWaiter;
    this.creditWaiter = undefined;
    w?.();
  }
  fail(err: TransportError): void {
    if (this.failure) return;
    this.failure = err;
    this.session.unpost(this);
    const sink = this.sink;
    this.sink = undefined;
    sink?.fail(err);
    this.wakeReader();
    const w = this.creditWaiter;
    this.creditWaiter = undefined;
    w?.();
  }
  private wakeReader(): void {
    const w = this.readWaiter;
    this.readWaiter = undefined;
    w?.();
  }

  // ---- DuplexStream ----
  setSink(sink: ReceiveSink): void {
    if (this.failure) {
      sink.fail(this.failure);
      return;
    }
    for (const chunk of this.queue.splice(0)) {
      copyIntoTargets(
        chunk,
        () => sink.target(),
        (n) => sink.commit(n),
      );
    }
    this.sink = sink;
    if (this.readEnded) sink.end();
  }

  release(n: number): void {
    this.consumed += n;
    this.grantConsumed();
  }

  retarget(): void {
    this.session.unpost(this);
  }

  private grantConsumed(): void {
    // Grant the window back in large steps: fewer WINDOW frames, and the sender never stalls on a full window.
    if (this.consumed >= this.session.options.streamWindow / 4 && !this.readEnded && !this.failure) {
      this.recvCredit += this.consumed;
      this.session.send(muxControl(this.id, MuxFrameType.WINDOW, u32Payload(this.consumed)));
      this.consumed = 0;
    }
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.consumed += chunk.byteLength;
        this.grantConsumed();
        return chunk;
      }
      if (this.failure) throw this.failure;
      if (this.readEnded) {
        this.session.maybeForget(this);
        return null;
      }
      await new Promise<void>((resolve) => (this.readWaiter = resolve));
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.byteLength > 0) {
      if (this.failure) throw this.failure;
      if (this.writeEnded) throw new TransportError('CLOSED', `stream ${this.id}: write after end`);
      if (this.sendCredit <= 0) {
        await new Promise<void>((resolve) => (this.creditWaiter = resolve));
        continue;
      }
      const n = Math.min(data.byteLength, this.sendCredit, MUX_MAX_DATA);
      this.sendCredit -= n;
      await this.session.sendData(this.id, [data.subarray(0, n)], n);
      data = data.subarray(n);
    }
  }

  async writeParts(parts: readonly Buffer[]): Promise<void> {
    let total = 0;
    for (const p of parts) total += p.byteLength;
    // One DATA frame straight from the parts when credit allows; otherwise split as write() does (same bytes).
    if (total > this.sendCredit || total > MUX_MAX_DATA || this.failure || this.writeEnded) {
      return this.write(Buffer.concat(parts, total));
    }
    this.sendCredit -= total;
    await this.session.sendData(this.id, parts, total);
  }

  async end(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.writeEnded) return;
    this.writeEnded = true;
    this.session.send(muxControl(this.id, MuxFrameType.END));
    this.session.maybeForget(this);
  }

  abort(reason?: Error): void {
    if (this.failure) return;
    this.session.reset(this, ResetCode.CANCEL, reason?.message ?? 'aborted locally');
  }
}

const RX_HEADER = 0;
const RX_CONTROL = 1;
const RX_DATA = 2;
/** Largest control frame payload (PING/PONG 8 bytes, WINDOW/RESET 4). */
const MAX_CONTROL = 64;
/** Landing area for bytes nobody keeps (data of unknown streams, bytes of a target given up). */
const SCRATCH_BYTES = 16 * 1024;
/** Data of streams without a sink is received into slices of slabs of this size. */
const SLAB_BYTES = 64 * 1024;
const POSTED_NONE = 0;
const POSTED_SINK = 1;
const POSTED_SLAB = 2;
const EMPTY = Buffer.alloc(0);

/** Process-wide counters of how sessions receive (tests check which path ran). */
export const muxReceiveStats = { directSessions: 0, dataEventSessions: 0 };

export class MuxSession {
  private readonly streams = new Map<number, MuxStream>();
  // ---- receive state: the byte stream is parsed in place (rxTarget/rxCommit) ----
  private rxState = RX_HEADER;
  private readonly rxHeader = Buffer.allocUnsafe(MUX_HEADER_BYTES);
  private readonly rxControl = Buffer.allocUnsafe(MAX_CONTROL);
  /** Bytes of the header or control payload filled so far. */
  private rxHave = 0;
  private rxType: MuxFrameTypeCode = MuxFrameType.DATA;
  private rxStreamId = 0;
  private rxControlLength = 0;
  /** Inside a DATA frame: its stream (undefined: the bytes are dropped) and the bytes still to come. */
  private rxStream: MuxStream | undefined;
  private rxLeft = 0;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  private slab = EMPTY;
  private slabAt = 0;
  /** What the last target handed out was; with direct reads it stays posted until the next read. */
  private postedKind = POSTED_NONE;
  private postedSink: ReceiveSink | undefined;
  /** The posted sink target was withdrawn: the next read lands in `scratch` and is copied to the sink. */
  private postedStale = false;
  private direct: DirectReader | undefined;
  private inDirectRead = false;
  private nextStreamId = 1;
  private closedError: TransportError | undefined;
  private readonly closeListeners: Array<(err?: Error) => void> = [];
  private drainWaiters: Array<() => void> = [];
  /** sendData calls whose bytes the socket still holds: settled with an error if the socket goes away. */
  private readonly writeWaiters = new Set<(err?: Error | null) => void>();
  private lastHeard = Date.now();
  private readonly keepAliveTimer: NodeJS.Timeout;
  private isClosed = false;

  constructor(
    private readonly socket: Socket,
    private readonly role: 'client' | 'server',
    readonly options: MuxOptions,
    private readonly describe: string,
    private readonly onStream?: (stream: DuplexStream) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    // Take what the socket buffered before this session existed (emitted as 'data' above), then read the
    // rest straight into the targets the parser names: segment bytes land where their consumer wants them.
    while (socket.read() !== null);
    this.direct = readInto(
      socket,
      () => this.nextTarget(),
      (n) => this.onDirectRead(n),
    );
    if (this.direct) muxReceiveStats.directSessions++;
    else muxReceiveStats.dataEventSessions++;
    socket.on('drain', () => {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    });
    socket.on('error', (err: Error) => {
      this.closedError ??= new TransportError('CONNECTION_LOST', `${describe}: ${err.message}`, {
        cause: err,
      });
    });
    socket.on('close', () => this.onSocketClose());
    this.keepAliveTimer = setInterval(() => this.keepAlive(), KEEP_ALIVE_INTERVAL_MS);
    this.keepAliveTimer.unref();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.isClosed) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  openStream(): DuplexStream {
    if (this.isClosed)
      throw this.closedError ?? new TransportError('CLOSED', `${this.describe}: connection closed`);
    if (this.role !== 'client') throw new Error('only the client side opens streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new MuxStream(id, this);
    this.streams.set(id, stream);
    this.send(muxControl(id, MuxFrameType.OPEN));
    this.grantInitial(stream);
    return stream;
  }

  /** Raise a new stream's receive window from the protocol's initial one to ours. */
  private grantInitial(stream: MuxStream): void {
    const extra = this.options.streamWindow - MUX_INITIAL_WINDOW;
    if (extra > 0) {
      stream.recvCredit += extra;
      this.send(muxControl(stream.id, MuxFrameType.WINDOW, u32Payload(extra)));
    }
  }

  send(frame: Buffer): void {
    if (!this.isClosed && !this.socket.destroyed) this.socket.write(frame);
  }

  /**
   * Writes one DATA frame of `length` bytes gathered from `parts`. Resolves once the socket has handed the
   * bytes on (its write callback: TLS has encrypted them into its own buffers), so the caller may reuse
   * `parts` right away, and then waits while the socket's buffer is above its high-water mark.
   */
  async sendData(id: number, parts: readonly Buffer[], length: number): Promise<void> {
    if (this.isClosed)
      throw this.closedError ?? new TransportError('CLOSED', `${this.describe}: connection closed`);
    let settle!: (err?: Error | null) => void;
    const written = new Promise<Error | null | undefined>((resolve) => {
      settle = resolve;
    });
    this.writeWaiters.add(settle);
    this.socket.cork();
    let ok = this.socket.write(muxHeader(id, MuxFrameType.DATA, length));
    const last = parts.length - 1;
    for (let i = 0; i <= last; i++) {
      ok = i === last ? this.socket.write(parts[i] as Buffer, settle) : this.socket.write(parts[i] as Buffer);
    }
    this.socket.uncork();
    const err = await written;
    this.writeWaiters.delete(settle);
    if (err || this.isClosed)
      throw (
        this.closedError ??
        new TransportError('CONNECTION_LOST', `${this.describe}: ${err?.message ?? 'closed'}`)
      );
    if (!ok && this.socket.writableNeedDrain) {
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
      if (this.isClosed)
        throw this.closedError ?? new TransportError('CONNECTION_LOST', `${this.describe}: closed`);
    }
  }

  reset(stream: MuxStream, code: number, reason: string): void {
    this.send(muxControl(stream.id, MuxFrameType.RESET, u32Payload(code)));
    stream.fail(new TransportError('STREAM_RESET', `${this.describe} stream ${stream.id}: ${reason}`));
    this.streams.delete(stream.id);
  }

  maybeForget(stream: MuxStream): void {
    if (stream.finished) this.streams.delete(stream.id);
  }

  /** Bytes delivered by the socket ('data' events): copied into the parser's targets. */
  private onSocketData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    try {
      copyIntoTargets(
        chunk,
        () => this.rxTarget(),
        (n) => this.rxCommit(n),
      );
    } catch (err) {
      this.brokenStream(err);
    }
  }

  /** Direct reads: the socket asks where the next bytes go. */
  private nextTarget(): Buffer {
    return this.isClosed ? this.scratch : this.rxTarget();
  }

  /** Direct reads: `n` bytes landed in the target handed out last (or in `scratch` if it was withdrawn). */
  private onDirectRead(n: number): void {
    this.lastHeard = Date.now();
    if (this.isClosed) return;
    this.inDirectRead = true;
    try {
      this.rxCommit(n);
    } catch (err) {
      this.brokenStream(err);
    } finally {
      this.inDirectRead = false;
    }
  }

  private brokenStream(err: unknown): void {
    // The byte stream itself is broken (not one request): nothing after this point can be trusted.
    this.destroy(new TransportError('CONNECTION_LOST', `${this.describe}: ${(err as Error).message}`));
  }

  /**
   * `stream` gives up the buffer its sink's last target lies in. With direct reads that target may still be
   * the socket's next destination, so the socket is pointed at `scratch` instead (the bytes are then copied
   * to wherever the sink says next, or dropped if the stream is gone).
   */
  unpost(stream: MuxStream): void {
    if (this.direct === undefined || this.inDirectRead) return; // a new target is named right after the read
    if (this.postedKind !== POSTED_SINK || this.postedStale || this.rxStream !== stream) return;
    this.postedStale = true;
    this.direct.repost(this.scratch.subarray(0, Math.min(this.rxLeft, SCRATCH_BYTES)));
  }

  private rxTarget(): Buffer {
    this.postedKind = POSTED_NONE;
    this.postedSink = undefined;
    this.postedStale = false;
    if (this.rxState === RX_HEADER) return this.rxHeader.subarray(this.rxHave);
    if (this.rxState === RX_CONTROL) return this.rxControl.subarray(this.rxHave, this.rxControlLength);
    const left = this.rxLeft;
    const s = this.rxStream;
    const sink = s?.sink;
    if (sink !== undefined) {
      const t = sink.target();
      this.postedKind = POSTED_SINK;
      this.postedSink = sink;
      return t.byteLength > left ? t.subarray(0, left) : t;
    }
    if (s !== undefined) {
      if (this.slab.byteLength - this.slabAt < 1024) {
        this.slab = Buffer.allocUnsafe(SLAB_BYTES);
        this.slabAt = 0;
      }
      this.postedKind = POSTED_SLAB;
      return this.slab.subarray(
        this.slabAt,
        this.slabAt + Math.min(left, this.slab.byteLength - this.slabAt),
      );
    }
    return this.scratch.subarray(0, Math.min(left, SCRATCH_BYTES));
  }

  private rxCommit(n: number): void {
    if (this.rxState === RX_HEADER) {
      this.rxHave += n;
      if (this.rxHave === MUX_HEADER_BYTES) this.onRxHeader();
      return;
    }
    if (this.rxState === RX_CONTROL) {
      this.rxHave += n;
      if (this.rxHave === this.rxControlLength) {
        this.rxState = RX_HEADER;
        this.rxHave = 0;
        this.dispatch(this.rxType, this.rxStreamId, this.rxControl.subarray(0, this.rxControlLength));
      }
      return;
    }
    this.rxLeft -= n;
    const s = this.rxStream;
    if (this.postedKind === POSTED_SINK) {
      const sink = this.postedSink as ReceiveSink;
      if (s?.sink === sink) {
        if (this.postedStale) copyToSink(sink, this.scratch.subarray(0, n));
        else sink.commit(n);
      }
    } else if (this.postedKind === POSTED_SLAB) {
      const bytes = this.slab.subarray(this.slabAt, this.slabAt + n);
      this.slabAt += n;
      if (s?.sink !== undefined) copyToSink(s.sink, bytes);
      else s?.onData(bytes);
    }
    this.postedKind = POSTED_NONE;
    if (this.rxLeft === 0) {
      this.rxState = RX_HEADER;
      this.rxHave = 0;
      this.rxStream = undefined;
    }
  }

  private onRxHeader(): void {
    const h = this.rxHeader;
    const streamId = h.readUInt32BE(0);
    const type = h.readUInt8(4);
    const length = h.readUInt32BE(5);
    this.rxHave = 0;
    if (type > MuxFrameType.PONG) throw new MuxProtocolError(`unknown mux frame type ${type}`);
    if (type === MuxFrameType.DATA) {
      if (length > MUX_MAX_DATA)
        throw new MuxProtocolError(`mux frame type ${type} of ${length} bytes exceeds ${MUX_MAX_DATA}`);
      if (length === 0) return;
      const stream = this.streams.get(streamId);
      // Frames racing a local reset or a finished stream, or beyond the window: read and dropped.
      this.rxStream = stream !== undefined && stream.admit(length) ? stream : undefined;
      this.rxLeft = length;
      this.rxState = RX_DATA;
      return;
    }
    if (length > MAX_CONTROL)
      throw new MuxProtocolError(`mux frame type ${type} of ${length} bytes exceeds ${MAX_CONTROL}`);
    this.rxType = type as MuxFrameTypeCode;
    this.rxStreamId = streamId;
    this.rxControlLength = length;
    if (length === 0) this.dispatch(this.rxType, streamId, EMPTY);
    else this.rxState = RX_CONTROL;
  }

  /** A control frame (the payload is a view of a reused buffer: read it now, keep none of it). */
  private dispatch(type: MuxFrameTypeCode, streamId: number, payload: Buffer): void {
    if (type === MuxFrameType.PING) {
      this.send(muxControl(0, MuxFrameType.PONG, payload));
      return;
    }
    if (type === MuxFrameType.PONG) return;
    if (type === MuxFrameType.OPEN) {
      if (this.role !== 'server' || streamId % 2 !== 1 || this.streams.has(streamId)) {
        throw new MuxProtocolError(`unexpected OPEN of stream ${streamId}`);
      }
      if (this.streams.size >= this.options.maxStreams) {
        this.send(muxControl(streamId, MuxFrameType.RESET, u32Payload(ResetCode.REFUSED)));
        return;
      }
      const stream = new MuxStream(streamId, this);
      this.streams.set(streamId, stream);
      this.grantInitial(stream);
      this.onStream?.(stream);
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return; // frames racing a local reset or a finished stream
    switch (type) {
      case MuxFrameType.END:
        stream.onEnd();
        break;
      case MuxFrameType.WINDOW:
        if (payload.byteLength !== 4) throw new MuxProtocolError('WINDOW frame without a u32 increment');
        stream.onWindow(payload.readUInt32BE(0));
        break;
      case MuxFrameType.RESET: {
        const code = payload.byteLength === 4 ? payload.readUInt32BE(0) : ResetCode.CANCEL;
        const why =
          code === ResetCode.REFUSED ? 'refused (too many streams)' : `reset by peer (code ${code})`;
        stream.fail(new TransportError('STREAM_RESET', `${this.describe} stream ${streamId}: ${why}`));
        this.streams.delete(streamId);
        break;
      }
    }
  }

  private keepAlive(): void {
    if (this.isClosed) return;
    if (Date.now() - this.lastHeard > DEAD_PEER_TIMEOUT_MS) {
      this.destroy(
        new TransportError(
          'CONNECTION_LOST',
          `${this.describe}: peer silent for more than ${DEAD_PEER_TIMEOUT_MS} ms`,
        ),
      );
      return;
    }
    this.send(muxControl(0, MuxFrameType.PING, randomBytes(8)));
  }

  destroy(err?: TransportError): void {
    if (err) this.closedError ??= err;
    this.socket.destroy();
    this.onSocketClose();
  }

  /** Ends the session: new streams are refused, the socket is closed once open streams finish or after `graceMs`. */
  async close(graceMs = 250): Promise<void> {
    if (this.isClosed) return;
    await new Promise<void>((resolve) => {
      this.onClose(() => resolve());
      const deadline = Date.now() + graceMs;
      const tick = (): void => {
        if (this.isClosed) return;
        if (this.streams.size === 0 || Date.now() >= deadline) {
          this.socket.end();
          setTimeout(() => this.destroy(), 250).unref();
          return;
        }
        setTimeout(tick, 10).unref();
      };
      tick();
    });
  }

  private onSocketClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearInterval(this.keepAliveTimer);
    const err =
      this.closedError ?? new TransportError('CONNECTION_LOST', `${this.describe}: connection closed`);
    for (const s of this.streams.values()) s.fail(err);
    this.streams.clear();
    for (const w of this.drainWaiters) w();
    this.drainWaiters = [];
    for (const w of this.writeWaiters) w(err);
    this.writeWaiters.clear();
    for (const l of this.closeListeners) l(this.closedError);
    this.closeListeners.length = 0;
  }
}

/** Copies `bytes` into the sink's targets. */
function copyToSink(sink: ReceiveSink, bytes: Buffer): void {
  let at = 0;
  while (at < bytes.byteLength) {
    const t = sink.target();
    const n = Math.min(t.byteLength, bytes.byteLength - at);
    t.set(bytes.subarray(at, at + n));
    at += n;
    sink.commit(n);
  }
}
