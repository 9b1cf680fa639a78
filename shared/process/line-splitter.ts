// Splits a byte stream into text lines, bounded: a line longer than `maxLineBytes` is cut into pieces
// of that size, so a child that never prints a newline cannot make its parent buffer without limit.
// Pure: no streams, no I/O.

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  constructor(maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1)
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    this.#maxLineBytes = maxLineBytes;
  }

  /** The complete lines in `chunk` (without their "\n" or "\r\n"); the tail waits for the next chunk. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.length > 0) {
      const newline = data.indexOf(0x0a);
      const room = this.#maxLineBytes - this.#pendingBytes;
      if (newline >= 0 && newline <= room) {
        this.#append(data.subarray(0, newline));
        lines.push(this.#take());
        data = data.subarray(newline + 1);
      } else if (data.length > room) {
        this.#append(data.subarray(0, room));
        lines.push(this.#take());
        data = data.subarray(room);
      } else {
        this.#append(data);
        break;
      }
    }
    return lines;
  }

  /** What is left once the stream ended (a last line without a newline), if anything. */
  end(): string[] {
    return this.#pendingBytes === 0 && this.#pending.length === 0 ? [] : [this.#take()];
  }

  #append(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // Copy: the stream may reuse its chunk buffers.
    this.#pending.push(Buffer.from(bytes));
    this.#pendingBytes += bytes.length;
  }

  #take(): string {
    let text = Buffer.concat(this.#pending).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.#pending = [];
    this.#pendingBytes = 0;
    return text;
  }
}
