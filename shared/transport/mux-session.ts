// A multiplexed session over one TLS socket: many request streams, each with credit-based flow control so a
// stream whose reader is slow holds back only its own sender, and keep-alive pings to notice a dead peer.
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import {
  MUX_INITIAL_WINDOW,
  MUX_MAX_DATA,
  MuxDecoder,
  MuxFrameType,
  MuxProtocolError,
  ResetCode,
  muxControl,
  muxHeader,
  u32Payload,
  type MuxFrame,
} from './mux-codec.ts';
import { DEAD_PEER_TIMEOUT_MS, KEEP_ALIVE_INTERVAL_MS, TransportError, type DuplexStream } from './types.ts';

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

  constructor(
    readonly id: number,
    private readonly session: MuxSession,
  ) {}

  get finished(): boolean {
    return this.failure !== undefined || (this.readEnded && this.writeEnded && this.queue.length === 0);
  }

  // ---- events from the session ----
  onData(payload: Buffer): void {
    if (this.readEnded || this.failure) return;
    if (payload.byteLength > this.recvCredit) {
      this.session.reset(this, ResetCode.FLOW_CONTROL, 'peer sent beyond its flow-control window');
      return;
    }
    this.recvCredit -= payload.byteLength;
    this.queue.push(payload);
    this.wakeReader();
  }
  onEnd(): void {
    this.readEnded = true;
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
  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.consumed += chunk.byteLength;
        // Grant the window back in large steps: fewer WINDOW frames, and the sender never stalls on a full window.
        if (this.consumed >= this.session.options.streamWindow / 4 && !this.readEnded && !this.failure) {
          this.recvCredit += this.consumed;
          this.session.send(muxControl(this.id, MuxFrameType.WINDOW, u32Payload(this.consumed)));
          this.consumed = 0;
        }
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

export class MuxSession {
  private readonly streams = new Map<number, MuxStream>();
  private readonly decoder = new MuxDecoder();
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

  private onSocketData(chunk: Buffer): void {
    this.lastHeard = Date.now();
    this.decoder.push(chunk);
    try {
      for (let f = this.decoder.next(); f; f = this.decoder.next()) this.dispatch(f);
    } catch (err) {
      // The byte stream itself is broken (not one request): nothing after this point can be trusted.
      this.destroy(new TransportError('CONNECTION_LOST', `${this.describe}: ${(err as Error).message}`));
    }
  }

  private dispatch(f: MuxFrame): void {
    if (f.type === MuxFrameType.PING) {
      this.send(muxControl(0, MuxFrameType.PONG, f.payload));
      return;
    }
    if (f.type === MuxFrameType.PONG) return;
    if (f.type === MuxFrameType.OPEN) {
      if (this.role !== 'server' || f.streamId % 2 !== 1 || this.streams.has(f.streamId)) {
        throw new MuxProtocolError(`unexpected OPEN of stream ${f.streamId}`);
      }
      if (this.streams.size >= this.options.maxStreams) {
        this.send(muxControl(f.streamId, MuxFrameType.RESET, u32Payload(ResetCode.REFUSED)));
        return;
      }
      const stream = new MuxStream(f.streamId, this);
      this.streams.set(f.streamId, stream);
      this.grantInitial(stream);
      this.onStream?.(stream);
      return;
    }
    const stream = this.streams.get(f.streamId);
    if (!stream) return; // frames racing a local reset or a finished stream
    switch (f.type) {
      case MuxFrameType.DATA:
        stream.onData(f.payload);
        break;
      case MuxFrameType.END:
        stream.onEnd();
        break;
      case MuxFrameType.WINDOW:
        if (f.payload.byteLength !== 4) throw new MuxProtocolError('WINDOW frame without a u32 increment');
        stream.onWindow(f.payload.readUInt32BE(0));
        break;
      case MuxFrameType.RESET: {
        const code = f.payload.byteLength === 4 ? f.payload.readUInt32BE(0) : ResetCode.CANCEL;
        const why =
          code === ResetCode.REFUSED ? 'refused (too many streams)' : `reset by peer (code ${code})`;
        stream.fail(new TransportError('STREAM_RESET', `${this.describe} stream ${f.streamId}: ${why}`));
        this.streams.delete(f.streamId);
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
