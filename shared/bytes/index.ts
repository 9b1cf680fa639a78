// Growable binary writer and bounds-checked reader (big endian): u8, u16, u32, u64 (as number < 2^53)
// and u32-length-prefixed byte strings. Used by s3db's Raft commands, snapshots and log, by the binary
// batch body the s3db client sends, and by the shard protocol's message decoders.

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
    return this;
  }

  /** Bytes as they are, without a length. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }

  str(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  /**
   * `fail` makes the error thrown for truncated or malformed input (the caller's error type); `truncated` is
   * true when the input ended inside a value, false for a value out of range or bytes left over.
   */
  constructor(
    private readonly buf: Uint8Array,
    private readonly fail: (message: string, truncated: boolean) => Error = (m) => new RangeError(m),
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length)
      throw this.fail(`truncated input: need ${n} bytes at offset ${this.pos} of ${this.buf.length}`, true);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail('u64 value too large', false);
    return Number(v);
  }

  /** The next `n` bytes as a view into the input (no copy). */
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A length-prefixed byte string, copied out of the input into a plain Uint8Array. */
  bytes(): Uint8Array {
    const view = this.raw(this.u32());
    const out = new Uint8Array(view.length);
    out.set(view);
    return out;
  }

  str(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** All the bytes not read yet, as a view into the input (no copy). */
  rest(): Uint8Array {
    return this.raw(this.remaining);
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  expectEnd(): void {
    if (!this.done) throw this.fail(`${this.buf.length - this.pos} trailing bytes`, false);
  }
}

/** The same bytes seen as a Buffer (for its string and number methods), without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
