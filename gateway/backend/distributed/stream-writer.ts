// PUT data path for a body of declared size: each chunk's k+m shards are streamed to their
// appliances segment by segment as stripes come out of the encoder, instead of collecting a chunk
// first. The gateway holds the encoder's stripe pool plus the segment copies the sockets have not
// sent yet (bounded by their backpressure), never a chunk; sending overlaps reading and encoding.
// Up to maxChunksInFlight chunks may still be waiting for their durable answers at once.
import { ObjectEncoder, chunkLayout } from '../../../shared/datapath/index.ts';
import type { EncodedStripe } from '../../../shared/datapath/index.ts';
import type { ShardPutStream } from '../../../shared/shard-client/index.ts';
import type { ChunkRecord } from '../../../shared/metadata/records.ts';
import { timeoutFor } from './context.ts';
import type { DataPathContext } from './context.ts';
import { chunkWriteOutcome, writeQuorum } from './quorum.ts';
import { bodyError, chunkUnavailable } from './object-writer.ts';
import type { AttemptedChunks, WriteInput, WrittenObject } from './object-writer.ts';

/** The k+m shard streams of one chunk. */
class ChunkStreams {
  private readonly streams: (ShardPutStream | undefined)[];
  private readonly errors: string[] = [];
  private alive: number;
  private readonly quorum: number;

  constructor(
    private readonly chunkIndex: number,
    streams: (ShardPutStream | Error)[],
    private readonly k: number,
    private readonly m: number,
  ) {
    this.quorum = writeQuorum(k, m);
    this.streams = streams.map((s) => {
      if (!(s instanceof Error)) return s;
      this.errors.push(s.message);
      return undefined;
    });
    this.alive = this.streams.filter((s) => s !== undefined).length;
    this.checkQuorum();
  }

  /**
   * Sends one stripe's segments straight from the stripe's buffers: a shard stream's write resolves only
   * once the transport no longer holds the bytes, so the stripe may go back to the pool right after.
   */
  async write(stripe: EncodedStripe): Promise<void> {
    await Promise.all(
      this.streams.map(async (stream, j) => {
        if (stream === undefined) return;
        try {
          await stream.write(stripe.segments[j] as Buffer);
        } catch (error) {
          this.drop(j, error);
        }
      }),
    );
    this.checkQuorum();
  }

  /** Waits for the durable answers; resolves with the shards to repair, throws below quorum. */
  async finish(): Promise<number[]> {
    const results = await Promise.allSettled(
      this.streams.map((stream) =>
        stream === undefined ? Promise.reject(new Error('not written')) : stream.finish(),
      ),
    );
    results.forEach((r) => {
      if (r.status === 'rejected') this.errors.push(String((r.reason as Error).message));
    });
    const outcome = chunkWriteOutcome(
      results.map((r) => r.status === 'fulfilled'),
      this.k,
      this.m,
    );
    if (!outcome.durable) throw this.unavailable(outcome.written.length);
    return outcome.failed;
  }

  abort(reason: Error): void {
    for (const stream of this.streams) stream?.abort(reason);
  }

  private drop(j: number, error: unknown): void {
    const stream = this.streams[j];
    if (stream === undefined) return;
    this.streams[j] = undefined;
    this.alive--;
    this.errors.push(String((error as Error).message));
    stream.abort(error as Error);
  }

  private checkQuorum(): void {
    if (this.alive < this.quorum) {
      const error = this.unavailable(this.alive);
      this.abort(error);
      throw error;
    }
  }

  private unavailable(written: number): Error {
    return chunkUnavailable(this.chunkIndex, written, this.quorum, this.errors.slice(0, 2).join('; '));
  }
}

/** writeObject for a declared size (see the file comment). */
export async function streamObject(
  ctx: DataPathContext,
  input: WriteInput & { expectedSize: number },
  attempted: AttemptedChunks,
): Promise<WrittenObject> {
  const g = ctx.geometry;
  const encoder = new ObjectEncoder({
    geometry: g,
    codec: ctx.codec,
    // Stripes are released as soon as their segments are handed to the sockets: a small pool suffices.
    maxStripesInFlight: 8,
    maxChunksInFlight: 2,
    expectedSize: input.expectedSize,
  });
  const chunks: ChunkRecord[] = [];
  const repairs: WrittenObject['repairs'] = [];
  const pending: { chunk: ChunkStreams; done: Promise<void> }[] = [];
  let failure: unknown;
  let current: ChunkStreams | undefined;
  const settle = async (): Promise<void> => {
    const oldest = pending.shift();
    if (oldest !== undefined) await oldest.done;
  };
  try {
    for await (const stripe of encoder.encode(input.body)) {
      try {
        if (failure !== undefined) throw failure;
        if (stripe.stripeIndex === 0) {
          while (pending.length >= ctx.maxChunksInFlight) await settle();
          if (failure !== undefined) throw failure;
          current = openChunk(ctx, input, stripe.chunkIndex, attempted, chunks);
        }
        await (current as ChunkStreams).write(stripe);
        if (stripe.lastInChunk) {
          const chunk = current as ChunkStreams;
          const chunkIndex = stripe.chunkIndex;
          const done = chunk.finish().then(
            (repair) => {
              if (repair.length > 0) repairs.push({ chunkIndex, shards: repair });
            },
            (error: unknown) => {
              failure ??= error;
            },
          );
          pending.push({ chunk, done });
          current = undefined;
        }
      } finally {
        stripe.release();
      }
    }
    while (pending.length > 0) await settle();
    if (failure !== undefined) throw failure;
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    current?.abort(reason);
    for (const p of pending) p.chunk.abort(reason);
    await Promise.all(pending.map((p) => p.done));
    throw bodyError(error);
  }
  const result = encoder.result();
  repairs.sort((a, b) => a.chunkIndex - b.chunkIndex);
  return { size: result.size, md5: result.md5, chunks, repairs };
}

function openChunk(
  ctx: DataPathContext,
  input: WriteInput & { expectedSize: number },
  chunkIndex: number,
  attempted: AttemptedChunks,
  chunks: ChunkRecord[],
): ChunkStreams {
  const g = ctx.geometry;
  const { k, m } = g.scheme;
  const layout = chunkLayout(g, input.expectedSize, chunkIndex);
  const nodes = ctx.ring.placeChunk(input.bucket, input.key, chunkIndex, k + m);
  attempted.push({ chunkIndex, nodes });
  chunks[chunkIndex] = { length: layout.length, k, m, epoch: ctx.ring.epoch, nodes };
  // The stream lives while the client sends the chunk: its deadline allows for the chunk's body
  // arriving at the slowest rate the data path supports, not just the shard's transfer.
  const timeoutMs = timeoutFor(ctx.writeTimeoutMs, layout.length, ctx.minBytesPerMs);
  const streams = nodes.map((node, shardIndex) => {
    const peer = ctx.peers.get(node);
    if (peer === undefined) return new Error(`appliance ${node} is not in the config`);
    return ctx.shards.openPut(
      peer,
      { versionId: input.versionId, chunkIndex, shardIndex },
      { rsData: k, rsParity: m },
      { segmentCount: layout.stripeCount, totalBytes: layout.shardLength },
      { timeoutMs },
    );
  });
  return new ChunkStreams(chunkIndex, streams, k, m);
}
