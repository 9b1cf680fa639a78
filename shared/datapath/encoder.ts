// Streams a request body into erasure-coded stripes: body → chunks → stripes → k data + m parity
// segments, yielded stripe by stripe as soon as each is encoded, with the object's MD5.
//
// Memory is bounded by a pool of stripe buffers (maxStripesInFlight × (k+m) × segment size) and
// by a window of chunks: stripes of chunk c are not produced until every stripe of chunk
// c − maxChunksInFlight has been released. The consumer must release each stripe once its
// segments are handed off (it may hold a chunk's last stripe until that chunk is durable, which
// is how it bounds chunks in flight); holding more stripes than the pool has stalls the encoder.
import { ReedSolomonCodec, StripePool, segmentViews } from '../erasure/index.ts';
import type { StripeBuffers } from '../erasure/index.ts';
import { BodyReader } from './body-reader.ts';
import { DataPathError } from './errors.ts';
import { segmentLengthFor, shardLength } from './geometry.ts';
import type { ChunkLayout, Geometry } from './geometry.ts';

export interface EncoderOptions {
  readonly geometry: Geometry;
  readonly codec?: ReedSolomonCodec;
  /** Shared pool to draw stripe buffers from (same scheme and segment size as the geometry). */
  readonly pool?: StripePool;
  /** Pool capacity when no pool is given. Default 32. */
  readonly maxStripesInFlight?: number;
  /** Chunks with unreleased stripes at any time. Default 2. */
  readonly maxChunksInFlight?: number;
  /** Stripes being encoded on the thread pool at once. Default 4. */
  readonly encodeConcurrency?: number;
  /** Declared body length (Content-Length); a body of another length fails with a DataPathError. */
  readonly expectedSize?: number;
}

export interface EncodedStripe {
  readonly chunkIndex: number;
  readonly stripeIndex: number;
  /** Offset of the stripe's first byte in the object. */
  readonly objectOffset: number;
  readonly logicalLength: number;
  readonly segmentLength: number;
  /** k data then m parity segments, each segmentLength bytes; valid until release(). */
  readonly segments: readonly Buffer[];
  readonly lastInChunk: boolean;
  readonly lastInObject: boolean;
  /** The finished chunk's layout, on the last stripe of each chunk. */
  readonly chunk: ChunkLayout | undefined;
  /** Returns the stripe's buffers to the pool; later calls do nothing. */
  release(): void;
}

export interface EncodeResult {
  readonly size: number;
  readonly md5: Buffer;
  readonly md5Hex: string;
  readonly chunks: readonly ChunkLayout[];
}

interface Pending {
  readonly encoded: Promise<void>;
  readonly stripe: EncodedStripe;
}

export class ObjectEncoder {
  readonly geometry: Geometry;
  private readonly codec: ReedSolomonCodec;
  private readonly pool: StripePool;
  private readonly maxChunksInFlight: number;
  private readonly encodeConcurrency: number;
  private readonly expectedSize: number | undefined;
  private started = false;
  private finished: EncodeResult | undefined;
  // Chunk window bookkeeping.
  private readonly released = new Map<number, number>();
  private readonly stripesInChunk = new Map<number, number>();
  private settledChunks = 0;
  private readonly wakers: (() => void)[] = [];

  constructor(options: EncoderOptions) {
    const g = options.geometry;
    this.geometry = g;
    this.codec = options.codec ?? new ReedSolomonCodec(g.scheme);
    if (this.codec.scheme.k !== g.scheme.k || this.codec.scheme.m !== g.scheme.m) {
      throw new DataPathError('BAD_OPTIONS', 'codec and geometry use different RS schemes');
    }
    this.maxChunksInFlight = positiveInt(options.maxChunksInFlight ?? 2, 'maxChunksInFlight');
    this.encodeConcurrency = positiveInt(options.encodeConcurrency ?? 4, 'encodeConcurrency');
    this.expectedSize = options.expectedSize;
    if (options.pool) {
      const p = options.pool;
      if (p.scheme.k !== g.scheme.k || p.scheme.m !== g.scheme.m || p.segmentSize !== g.segmentSize) {
        throw new DataPathError('BAD_OPTIONS', 'pool and geometry use different schemes or segment sizes');
      }
      this.pool = p;
    } else {
      this.pool = new StripePool(
        g.scheme,
        positiveInt(options.maxStripesInFlight ?? 32, 'maxStripesInFlight'),
        g.segmentSize,
      );
    }
  }

  /** Size, MD5 and chunk layouts of the object, once `encode` has run to its end. */
  result(): EncodeResult {
    if (!this.finished) throw new DataPathError('NOT_FINISHED', 'the encoder has not finished the body');
    return this.finished;
  }

  /**
   * Yields the object's stripes in order (chunk by chunk) as each is encoded; returns the same as
   * result(). Reading and encoding run ahead of the consumer by up to encodeConcurrency stripes.
   * Stopping early (break, throw) waits for the body read in progress, then closes the body.
   */
  async *encode(body: AsyncIterable<unknown>): AsyncGenerator<EncodedStripe, EncodeResult, undefined> {
    if (this.started) throw new DataPathError('BAD_OPTIONS', 'an ObjectEncoder encodes one body');
    this.started = true;
    const reader = new BodyReader(body, this.expectedSize);
    const queue: Pending[] = [];
    const chunks: ChunkLayout[] = [];
    const stop = new AbortController();
    let produced = false;
    let failed = false;
    let failure: unknown;
    const producer = this.produce(reader, queue, chunks, stop.signal).then(
      () => (produced = true),
      (error: unknown) => {
        failed = true;
        failure = error;
      },
    );
    void producer.finally(() => this.wake());
    try {
      while (true) {
        const next = queue.shift();
        if (next) {
          this.wake(); // room in the queue for the producer
          try {
            await next.encoded;
          } catch (error) {
            next.stripe.release();
            throw error;
          }
          yield next.stripe;
        } else if (failed) {
          throw failure;
        } else if (produced) {
          break;
        } else {
          await this.changed();
        }
      }
      const md5 = reader.md5();
      this.finished = { size: reader.bytesRead, md5, md5Hex: md5.toString('hex'), chunks };
      return this.finished;
    } finally {
      stop.abort();
      this.wake();
      await producer;
      // Failure or early stop: stripes not handed to the consumer go back to the pool.
      for (const p of queue.splice(0)) {
        await p.encoded.catch(() => undefined);
        p.stripe.release();
      }
      if (!this.finished) await reader.cancel().catch(() => undefined);
    }
  }

  /** Reads the body into pooled stripes and starts encoding them, appending to `queue` in order. */
  private async produce(
    reader: BodyReader,
    queue: Pending[],
    chunks: ChunkLayout[],
    stop: AbortSignal,
  ): Promise<void> {
    const g = this.geometry;
    let chunkIndex = 0;
    let stripeIndex = 0;
    let chunkFill = 0;
    let more = true;
    while (more) {
      while (
        !stop.aborted &&
        (queue.length >= this.encodeConcurrency || (stripeIndex === 0 && !this.windowAllows(chunkIndex)))
      ) {
        await this.changed();
      }
      if (stop.aborted) return;
      const buffers = await this.pool.acquire(stop).catch((error: unknown) => {
        if (stop.aborted) return undefined;
        throw error;
      });
      if (!buffers) return;
      let got: number;
      try {
        got = await reader.fill(buffers.data, 0, g.stripeDataSize);
        more = got === g.stripeDataSize && (await reader.hasMore());
      } catch (error) {
        this.pool.release(buffers);
        throw error;
      }
      if (got === 0 || stop.aborted) {
        this.pool.release(buffers); // empty body (no chunk at all), or the consumer is gone
        return;
      }
      const segmentLength = segmentLengthFor(g, got);
      buffers.data.fill(0, got, g.scheme.k * segmentLength);
      chunkFill += got;
      const lastInChunk = !more || stripeIndex === g.stripesPerChunk - 1;
      let chunk: ChunkLayout | undefined;
      if (lastInChunk) {
        chunk = {
          chunkIndex,
          objectOffset: chunkIndex * g.chunkSize,
          length: chunkFill,
          stripeCount: stripeIndex + 1,
          shardLength: shardLength(g, chunkFill),
        };
        chunks.push(chunk);
        this.stripesInChunk.set(chunkIndex, stripeIndex + 1);
      }
      const stripe = this.stripe(buffers, {
        chunkIndex,
        stripeIndex,
        objectOffset: chunkIndex * g.chunkSize + stripeIndex * g.stripeDataSize,
        logicalLength: got,
        segmentLength,
        lastInChunk,
        lastInObject: !more,
        chunk,
      });
      const encoded = this.codec.encode(buffers, segmentLength);
      encoded.catch(() => undefined); // observed by the consumer loop; never an unhandled rejection
      queue.push({ encoded, stripe });
      this.wake();
      if (lastInChunk) {
        chunkIndex++;
        stripeIndex = 0;
        chunkFill = 0;
      } else {
        stripeIndex++;
      }
    }
  }

  /** Resolves at the next wake(): a stripe queued or released, the producer done, or a stop. */
  private changed(): Promise<void> {
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    for (const resolve of this.wakers.splice(0)) resolve();
  }

  private stripe(buffers: StripeBuffers, fields: Omit<EncodedStripe, 'segments' | 'release'>): EncodedStripe {
    let held = true;
    return {
      ...fields,
      segments: segmentViews(buffers, this.geometry.scheme, fields.segmentLength),
      release: () => {
        if (!held) return;
        held = false;
        this.pool.release(buffers);
        this.released.set(fields.chunkIndex, (this.released.get(fields.chunkIndex) ?? 0) + 1);
        this.advanceWindow();
      },
    };
  }

  private windowAllows(chunkIndex: number): boolean {
    return chunkIndex - this.settledChunks < this.maxChunksInFlight;
  }

  private advanceWindow(): void {
    while (true) {
      const total = this.stripesInChunk.get(this.settledChunks);
      if (total === undefined || (this.released.get(this.settledChunks) ?? 0) < total) break;
      this.released.delete(this.settledChunks);
      this.stripesInChunk.delete(this.settledChunks);
      this.settledChunks++;
    }
    this.wake();
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new DataPathError('BAD_OPTIONS', `${name} must be a positive integer, got ${value}`);
  return value;
}
