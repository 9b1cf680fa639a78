// PUT data path: body → encoder → per chunk, shard j's segments to the appliance placed for j, all
// shards in parallel; chunks pipelined up to the in-flight limit (the encoder stalls while the last
// stripe of each unfinished chunk is held). A chunk is durable at the write quorum; shards that
// failed become repair tasks. Nothing here touches metadata: the caller commits or records garbage.
import { createHash } from 'node:crypto';
import { ObjectEncoder } from '../../../shared/datapath/index.ts';
import { DataPathError } from '../../../shared/datapath/index.ts';
import { IncompleteBody, S3Error } from '../../errors.ts';
import { timeoutFor } from './context.ts';
import type { DataPathContext } from './context.ts';
import { chunkWriteOutcome, writeQuorum } from './quorum.ts';
import { readInlineBody, storesInline } from './inline.ts';
import { streamObject } from './stream-writer.ts';
import type { ChunkRecord } from '../../../shared/metadata/records.ts';

export interface WriteInput {
  bucket: string;
  key: string;
  versionId: Buffer;
  body: AsyncIterable<Buffer>;
  expectedSize?: number;
  /** Store a body of at most this many declared bytes inline (no shards); default 0 = never. */
  inlineMaxBytes?: number;
}

export interface WrittenObject {
  size: number;
  md5: Buffer;
  chunks: ChunkRecord[];
  /** Shards of durable chunks that were not written. */
  repairs: { chunkIndex: number; shards: number[] }[];
  /** The object's bytes when stored inline (then `chunks` is empty): the record must carry them. */
  inline?: Buffer;
}

/** Placements of every chunk whose shards may have been (partly) written; filled as the write goes. */
export type AttemptedChunks = { chunkIndex: number; nodes: string[] }[];

export function chunkUnavailable(
  chunkIndex: number,
  written: number,
  needed: number,
  cause: string,
): S3Error {
  return new S3Error(
    'ServiceUnavailable',
    `Could not store chunk ${chunkIndex}: ${written} shard(s) durable, ${needed} needed (${cause}). Please retry.`,
    503,
  );
}

export async function writeObject(
  ctx: DataPathContext,
  input: WriteInput,
  attempted: AttemptedChunks,
): Promise<WrittenObject> {
  if (storesInline(input.expectedSize, input.inlineMaxBytes ?? 0)) {
    const inline = await readInlineBody(input.body, input.expectedSize as number).catch((error: unknown) => {
      throw bodyError(error);
    });
    return { size: inline.bytes.length, md5: inline.md5, chunks: [], repairs: [], inline: inline.bytes };
  }
  if (input.expectedSize !== undefined && ctx.streamShards !== false)
    return streamObject(ctx, { ...input, expectedSize: input.expectedSize }, attempted);
  const { k, m } = ctx.geometry.scheme;
  const encoder = new ObjectEncoder({
    geometry: ctx.geometry,
    codec: ctx.codec,
    maxChunksInFlight: ctx.maxChunksInFlight,
    maxStripesInFlight: Math.max(8, ctx.maxChunksInFlight + 6),
    ...(input.expectedSize === undefined ? {} : { expectedSize: input.expectedSize }),
  });
  const chunks: ChunkRecord[] = [];
  const repairs: WrittenObject['repairs'] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let segments: Buffer[][] = [];
  let nodes: string[] = [];
  try {
    for await (const stripe of encoder.encode(input.body)) {
      if (failure !== undefined) {
        stripe.release();
        throw failure;
      }
      if (stripe.stripeIndex === 0) {
        nodes = ctx.ring.placeChunk(input.bucket, input.key, stripe.chunkIndex, k + m);
        attempted.push({ chunkIndex: stripe.chunkIndex, nodes });
        segments = Array.from({ length: k + m }, () => []);
      }
      // Copies: the stripe's buffers go back to the pool while the chunk is still being collected.
      stripe.segments.forEach((segment, j) => (segments[j] as Buffer[]).push(Buffer.from(segment)));
      if (!stripe.lastInChunk) {
        stripe.release();
        continue;
      }
      const layout = stripe.chunk;
      if (layout === undefined) throw new Error('encoder gave no chunk layout on the last stripe');
      const record: ChunkRecord = { length: layout.length, k, m, epoch: ctx.ring.epoch, nodes };
      chunks[layout.chunkIndex] = record;
      const put = putChunk(ctx, input.versionId, layout.chunkIndex, nodes, segments)
        .then((repair) => {
          if (repair.length > 0) repairs.push({ chunkIndex: layout.chunkIndex, shards: repair });
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => {
          stripe.release();
          inFlight.delete(put);
        });
      inFlight.add(put);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  } catch (error) {
    await Promise.all(inFlight);
    throw bodyError(error);
  }
  const result = encoder.result();
  return { size: result.size, md5: result.md5, chunks, repairs };
}

/** Writes the k+m shards of one chunk; resolves with the shards to repair, throws below quorum. */
async function putChunk(
  ctx: DataPathContext,
  versionId: Buffer,
  chunkIndex: number,
  nodes: readonly string[],
  segments: readonly Buffer[][],
): Promise<number[]> {
  const { k, m } = ctx.geometry.scheme;
  const results = await Promise.allSettled(
    nodes.map((node, shardIndex) => {
      const peer = ctx.peers.get(node);
      if (peer === undefined) return Promise.reject(new Error(`appliance ${node} is not in the config`));
      return ctx.shards.putShard(
        peer,
        { versionId, chunkIndex, shardIndex },
        { rsData: k, rsParity: m },
        segments[shardIndex] as Buffer[],
        {
          timeoutMs: timeoutFor(
            ctx.writeTimeoutMs,
            (segments[shardIndex] as Buffer[]).reduce((n, b) => n + b.length, 0),
            ctx.minBytesPerMs,
          ),
        },
      );
    }),
  );
  const outcome = chunkWriteOutcome(
    results.map((r) => r.status === 'fulfilled'),
    k,
    m,
  );
  if (!outcome.durable) {
    const reasons = results.flatMap((r) =>
      r.status === 'rejected' ? [String((r.reason as Error).message)] : [],
    );
    throw chunkUnavailable(
      chunkIndex,
      outcome.written.length,
      writeQuorum(k, m),
      reasons.slice(0, 2).join('; '),
    );
  }
  return outcome.failed;
}

export function bodyError(error: unknown): unknown {
  if (!(error instanceof DataPathError)) return error;
  if (error.code === 'BODY_TOO_SHORT') return IncompleteBody();
  if (error.code === 'BODY_TOO_LONG')
    return new S3Error('IncompleteBody', 'The request body is longer than its declared length', 400);
  return error;
}

/** MD5 hex of nothing (the ETag of an empty object). */
export const EMPTY_MD5 = createHash('md5').digest();
