// Shard transfers for the rebalance executors: read whole shards of a chunk (from their recorded
// appliances, or rebuilt from any k readable ones), write a shard and check what the appliance stored.
import { ReedSolomonCodec, segmentView } from '../../../shared/erasure/index.ts';
import type { StripeBuffers } from '../../../shared/erasure/index.ts';
import { makeGeometry, stripeCount, stripeLayout } from '../../../shared/datapath/index.ts';
import type { ChunkRecord, ObjectRecord } from '../../../shared/metadata/records.ts';
import { shardLocation } from '../../../shared/metadata/records.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';

export interface ShardIo {
  shards: ShardClient;
  peers: ReadonlyMap<string, ShardPeer>;
  /** Per-request timeout base; a request moving `bytes` gets bytes / 100 KB/s more. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export class ShardMoveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShardMoveError';
  }
}

/** Storage key of a chunk's shards (version or data id, chunk index). */
export function storedAt(
  record: Pick<ObjectRecord, 'versionId' | 'chunks'>,
  chunkIndex: number,
): { versionId: Buffer; chunkIndex: number } {
  const location = shardLocation(record, chunkIndex);
  return { versionId: Buffer.from(location.versionId, 'hex'), chunkIndex: location.chunkIndex };
}

/** Expected segment lengths of every shard of a chunk (all shards of a chunk have the same ones). */
export function segmentLengths(
  record: Pick<ObjectRecord, 'segmentSize' | 'chunkSize'>,
  chunk: Pick<ChunkRecord, 'k' | 'm' | 'length'>,
): number[] {
  const g = makeGeometry(
    { k: chunk.k, m: chunk.m },
    { segmentSize: record.segmentSize, maxChunkSize: Math.max(record.chunkSize, chunk.length) },
  );
  return Array.from(
    { length: stripeCount(g, chunk.length) },
    (_, s) => stripeLayout(g, chunk.length, s).segmentLength,
  );
}

function timeout(io: ShardIo, bytes: number): number {
  return Math.ceil((io.timeoutMs ?? 10_000) + bytes / 100);
}

function peerOf(io: ShardIo, node: string): ShardPeer {
  const peer = io.peers.get(node);
  if (peer === undefined) throw new ShardMoveError(`appliance ${node} is not in this appliance's config`);
  return peer;
}

async function fetchWhole(
  io: ShardIo,
  node: string,
  key: { versionId: Buffer; chunkIndex: number },
  shardIndex: number,
  lengths: readonly number[],
): Promise<Buffer[]> {
  const bytes = lengths.reduce((n, l) => n + l, 0);
  const got = await io.shards.fetchShard(
    peerOf(io, node),
    { ...key, shardIndex },
    { firstSegment: 0, segmentCount: 0 },
    { timeoutMs: timeout(io, bytes), ...(io.signal ? { signal: io.signal } : {}) },
  );
  if (got.segments.length !== lengths.length || got.segments.some((s, i) => s.length !== lengths[i]))
    throw new ShardMoveError(
      `shard ${shardIndex} on ${node} has ${got.segments.length} segments, the record says ${lengths.length}`,
    );
  return got.segments;
}

export interface ReadShardsResult {
  /** Segments of each wanted shard. */
  shards: Map<number, Buffer[]>;
  /** Wanted shards that had to be rebuilt from others. */
  rebuilt: number[];
}

/**
 * Whole shards `wanted` of chunk `chunkIndex`: fetched from their recorded appliances (CRC-checked by
 * the client), and those that cannot be read rebuilt from k readable shards of the chunk.
 */
export async function readShards(
  io: ShardIo,
  record: Pick<ObjectRecord, 'versionId' | 'chunks' | 'segmentSize' | 'chunkSize'>,
  chunkIndex: number,
  wanted: readonly number[],
): Promise<ReadShardsResult> {
  const chunk = record.chunks[chunkIndex];
  if (chunk === undefined) throw new ShardMoveError(`chunk ${chunkIndex} is not in the record`);
  const { k, m } = chunk;
  const key = storedAt(record, chunkIndex);
  const lengths = segmentLengths(record, chunk);
  const have = new Map<number, Buffer[]>();
  const failed = new Set<number>();
  const tryFetch = async (indexes: readonly number[]): Promise<void> => {
    const results = await Promise.allSettled(
      indexes.map((j) => fetchWhole(io, chunk.nodes[j] as string, key, j, lengths)),
    );
    results.forEach((r, i) => {
      const j = indexes[i] as number;
      if (r.status === 'fulfilled') have.set(j, r.value);
      else failed.add(j);
    });
  };
  await tryFetch(wanted);
  const missing = wanted.filter((j) => !have.has(j));
  if (missing.length === 0) return { shards: have, rebuilt: [] };
  // Rebuild: k readable shards (data first, then parity), fetched as needed.
  for (let round = 0; round <= k + m && have.size < k; round++) {
    const next = Array.from({ length: k + m }, (_, j) => j)
      .filter((j) => !have.has(j) && !failed.has(j))
      .slice(0, k - have.size);
    if (next.length === 0) break;
    await tryFetch(next);
  }
  if (have.size < k)
    throw new ShardMoveError(
      `chunk ${chunkIndex}: only ${have.size} of ${k + m} shards are readable, RS(${k},${m}) needs ${k}`,
    );
  const codec = new ReedSolomonCodec({ k, m });
  const sources = [...have.keys()].sort((a, b) => a - b).slice(0, k);
  const present = Array.from({ length: k + m }, (_, j) => sources.includes(j));
  const rebuilt = new Map<number, Buffer[]>(missing.map((j) => [j, []]));
  for (let s = 0; s < lengths.length; s++) {
    const L = lengths[s] as number;
    const stripe: StripeBuffers = { data: Buffer.alloc(k * L), parity: Buffer.alloc(m * L) };
    for (const j of sources) segmentView(stripe, { k, m }, L, j).set((have.get(j) as Buffer[])[s] as Buffer);
    await codec.reconstruct(stripe, L, present, missing);
    for (const j of missing)
      (rebuilt.get(j) as Buffer[]).push(Buffer.from(segmentView(stripe, { k, m }, L, j)));
  }
  const shards = new Map<number, Buffer[]>();
  for (const j of wanted) shards.set(j, (have.get(j) ?? rebuilt.get(j)) as Buffer[]);
  return { shards, rebuilt: missing };
}

/**
 * Writes a shard to `node`. The PUT declares its segment count and byte total up front and ends with
 * the whole-shard CRC; the appliance refuses a body that does not match them and answers only after
 * fsync, so a successful PUT already proves what was stored (no SHARD_STAT round trip).
 */
export async function writeShard(
  io: ShardIo,
  node: string,
  key: { versionId: Buffer; chunkIndex: number; shardIndex: number },
  scheme: { k: number; m: number },
  segments: readonly Buffer[],
): Promise<number> {
  const peer = peerOf(io, node);
  const bytes = segments.reduce((n, s) => n + s.length, 0);
  const opts = { timeoutMs: timeout(io, bytes), ...(io.signal ? { signal: io.signal } : {}) };
  await io.shards.putShard(peer, key, { rsData: scheme.k, rsParity: scheme.m }, [...segments], opts);
  return bytes;
}

/** Deletes a shard; true when it is gone (a missing shard counts), false when the appliance did not answer. */
export async function dropShard(
  io: ShardIo,
  node: string,
  key: { versionId: Buffer; chunkIndex: number; shardIndex: number },
): Promise<boolean> {
  const peer = io.peers.get(node);
  if (peer === undefined) return false;
  try {
    await io.shards.deleteShard(peer, key, { timeoutMs: io.timeoutMs ?? 10_000 });
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'NOT_FOUND';
  }
}
