// Adapts a Node Duplex (an HTTP/2 stream) to DuplexStream: a bounded read queue with pause/resume, so a
// reader that stops reading stops the peer through the transport's flow control.
import type { Duplex } from 'node:stream';
import { TransportError, type DuplexStream } from './types.ts';

/** Bytes queued locally before the Node stream is paused. */
const READ_QUEUE_HIGH_WATER = 1 << 20;

export class NodeDuplexStream implements DuplexStream {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly closeWaiters = new Set<() => void>();
  private aborted = false;

  constructor(
    private readonly stream: Duplex,
    private readonly resetFn: (reason?: Error) => void,
    private readonly describe: string,
    /** True when an 'end' is really a reset (HTTP/2: the stream carries a non-zero RST code). */
    private readonly endIsReset: () => boolean = () => false,
  ) {
    stream.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.queuedBytes += chunk.byteLength;
      if (this.queuedBytes >= READ_QUEUE_HIGH_WATER) stream.pause();
      this.wake();
    });
    stream.on('end', () => {
      if (this.endIsReset()) {
        this.fail(new TransportError('STREAM_RESET', `${this.describe}: stream reset (peer gone or reset)`));
        return;
      }
      this.ended = true;
      this.wake();
    });
    stream.on('error', (err: Error) => this.fail(err));
    // HTTP/2 emits 'aborted' (then still 'end') when the stream or its connection dies before END_STREAM.
    stream.on('aborted', () =>
      this.fail(
        new TransportError(
          'STREAM_RESET',
          `${this.describe}: stream aborted (peer reset or connection lost)`,
        ),
      ),
    );
    stream.on('close', () => {
      if (!this.ended)
        this.fail(new TransportError('STREAM_RESET', `${this.describe}: stream closed by the peer`));
      for (const w of this.closeWaiters) w();
    });
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure =
      err instanceof TransportError
        ? err
        : new TransportError('STREAM_RESET', `${this.describe}: ${err.message}`, { cause: err });
    this.wake();
    for (const w of this.closeWaiters) w();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.queuedBytes -= chunk.byteLength;
        if (this.queuedBytes < READ_QUEUE_HIGH_WATER && this.stream.isPaused()) this.stream.resume();
        return chunk;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stream.destroyed || this.stream.writableEnded) {
      return Promise.reject(new TransportError('CLOSED', `${this.describe}: stream is closed for writing`));
    }
    if (this.stream.write(chunk)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.closeWaiters.delete(done);
        if (this.failure) reject(this.failure);
        else if (this.stream.destroyed)
          reject(new TransportError('STREAM_RESET', `${this.describe}: stream closed`));
        else resolve();
      };
      this.stream.on('drain', done);
      this.closeWaiters.add(done);
    });
  }

  end(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stream.writableEnded) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.stream.end(() => resolve());
      const onClose = (): void => {
        this.closeWaiters.delete(onClose);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      this.closeWaiters.add(onClose);
    });
  }

  abort(reason?: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.fail(reason ?? new TransportError('STREAM_RESET', `${this.describe}: aborted locally`));
    this.queue = [];
    this.queuedBytes = 0;
    this.resetFn(reason);
  }
}
