// Pulls a request body (any async iterable of byte pieces) into fixed-size buffers, hashing it
// with MD5 and counting it on the way. Holds at most one body piece.
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { DataPathError } from './errors.ts';

export class BodyReader {
  private readonly source: AsyncIterator<unknown>;
  private readonly hash: Hash = createHash('md5');
  private readonly expectedSize: number | undefined;
  private piece: Uint8Array = new Uint8Array(0);
  private used = 0;
  private ended = false;
  private total = 0;

  constructor(body: AsyncIterable<unknown>, expectedSize?: number) {
    if (expectedSize !== undefined && (!Number.isSafeInteger(expectedSize) || expectedSize < 0)) {
      throw new DataPathError(
        'BAD_SIZE',
        `expected size must be a non-negative integer, got ${expectedSize}`,
      );
    }
    this.source = body[Symbol.asyncIterator]();
    this.expectedSize = expectedSize;
  }

  /** Bytes read from the body so far. */
  get bytesRead(): number {
    return this.total;
  }

  /** Copies up to `want` bytes into `target` at `offset`; fewer only at the end of the body. */
  async fill(target: Buffer, offset: number, want: number): Promise<number> {
    let filled = 0;
    while (filled < want && (await this.hasMore())) {
      const n = Math.min(want - filled, this.piece.length - this.used);
      target.set(this.piece.subarray(this.used, this.used + n), offset + filled);
      this.used += n;
      filled += n;
    }
    return filled;
  }

  /** Whether any body byte is left, pulling the next non-empty piece if needed. */
  async hasMore(): Promise<boolean> {
    while (this.used === this.piece.length) {
      if (this.ended) return false;
      const next = await this.source.next();
      if (next.done === true) {
        this.ended = true;
        if (this.expectedSize !== undefined && this.total < this.expectedSize) {
          throw new DataPathError(
            'BODY_TOO_SHORT',
            `request body ended after ${this.total} of ${this.expectedSize} bytes`,
          );
        }
        return false;
      }
      if (!(next.value instanceof Uint8Array)) {
        throw new DataPathError('BAD_BODY', `request body pieces must be bytes, got ${typeof next.value}`);
      }
      this.piece = next.value;
      this.used = 0;
      this.total += next.value.length;
      if (this.expectedSize !== undefined && this.total > this.expectedSize) {
        throw new DataPathError(
          'BODY_TOO_LONG',
          `request body is longer than the declared ${this.expectedSize} bytes`,
        );
      }
      this.hash.update(next.value);
    }
    return true;
  }

  /** MD5 of the whole body; only once it has been read to its end. */
  md5(): Buffer {
    if (!this.ended) throw new DataPathError('NOT_FINISHED', 'the body has not been read to its end');
    return this.hash.copy().digest();
  }

  /** Stops reading early (consumer gone or failure): lets the body's source clean up. */
  async cancel(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.source.return?.();
    }
  }
}
