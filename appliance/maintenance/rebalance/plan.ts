// Pure planning: which shards of which chunks move when the ring changes, which objects need a new
// RS scheme, and how an objects-table key splits into bucket and key.
import type { RsScheme } from '../../../shared/erasure/index.ts';
import type { ObjectRecord } from '../../../shared/metadata/records.ts';
import { movedShards, rebalancePlacement } from '../../../shared/ring/index.ts';
import type { HashRing } from '../../../shared/ring/index.ts';

export interface ShardMove {
  shardIndex: number;
  from: string;
  to: string;
}

export interface ChunkMovePlan {
  chunkIndex: number;
  /** Placement after the move (shard j on target[j]). */
  target: string[];
  moves: ShardMove[];
}

export interface ObjectMovePlan {
  chunks: ChunkMovePlan[];
  /** Chunks whose k + m exceeds the ring's nodes: they cannot be placed on it and stay. */
  unplaceable: number[];
}

/**
 * The moves that bring every chunk of `record` (stored as `bucket/key`) to its placement on `ring`.
 * Nodes still chosen keep their shard index (rebalancePlacement), so only shards whose node left the
 * chosen set move; a chunk already in place needs nothing (its recorded epoch is not rewritten).
 */
export function planObjectMoves(
  bucket: string,
  key: string,
  record: Pick<ObjectRecord, 'chunks'>,
  ring: HashRing,
): ObjectMovePlan {
  const chunks: ChunkMovePlan[] = [];
  const unplaceable: number[] = [];
  record.chunks.forEach((chunk, chunkIndex) => {
    const width = chunk.k + chunk.m;
    if (width > ring.nodes.length) {
      unplaceable.push(chunkIndex);
      return;
    }
    const target = rebalancePlacement(chunk.nodes, ring.placeChunk(bucket, key, chunkIndex, width));
    const moved = movedShards(chunk.nodes, target);
    if (moved.length === 0) return;
    chunks.push({
      chunkIndex,
      target,
      moves: moved.map((shardIndex) => ({
        shardIndex,
        from: chunk.nodes[shardIndex] as string,
        to: target[shardIndex] as string,
      })),
    });
  });
  return { chunks, unplaceable };
}

/** True when some chunk of the record is not RS(`rs.k`, `rs.m`). */
export function needsMigration(record: Pick<ObjectRecord, 'chunks'>, rs: RsScheme): boolean {
  return record.chunks.some((c) => c.k !== rs.k || c.m !== rs.m);
}

/** Chunks of the record that have a shard on `node`. */
export function chunksOnNode(record: Pick<ObjectRecord, 'chunks'>, node: string): number[] {
  return record.chunks.flatMap((c, i) => (c.nodes.includes(node) ? [i] : []));
}

/** Bucket and key of an objects-table key (`bucket 0x00 key`). */
export function splitObjectKey(stored: Uint8Array): { bucket: string; key: string } {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const at = bytes.indexOf(0);
  if (at < 0) throw new Error(`objects-table key ${bytes.toString('hex')} has no bucket separator`);
  return { bucket: bytes.subarray(0, at).toString('utf8'), key: bytes.subarray(at + 1).toString('utf8') };
}

/** Whether `bucket/key` is inside the optional bucket / prefix filter of a job. */
export function inScope(bucket: string, key: string, scope: { bucket?: string; prefix?: string }): boolean {
  if (scope.bucket !== undefined && scope.bucket !== bucket) return false;
  return scope.prefix === undefined || key.startsWith(scope.prefix);
}
