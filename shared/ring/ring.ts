import { RingError } from './errors.ts';
import { chunkPosition, hash64 } from './hash.ts';

export const DEFAULT_VNODES_PER_NODE = 128;
const MAX_VNODES_PER_NODE = 4096;

export interface RingOptions {
  /** Appliance ids; order does not matter, the ring sorts them. */
  nodes: readonly string[];
  /** Incremented whenever membership changes; recorded with every placement. */
  epoch: number;
  vnodesPerNode?: number;
}

/** Ring position of virtual node `index` of `nodeId`. */
export function vnodePosition(nodeId: string, index: number): bigint {
  return hash64(`${nodeId}#${index}`);
}

/**
 * Consistent hash ring with virtual nodes (spec §8). Immutable and deterministic: the same
 * nodes, vnode count and input always give the same placement, whatever order nodes were listed in.
 */
export class HashRing {
  readonly epoch: number;
  readonly nodes: readonly string[];
  readonly vnodesPerNode: number;
  private readonly positions: BigUint64Array;
  private readonly owners: Uint32Array;

  constructor(options: RingOptions) {
    const { nodes, epoch } = options;
    const vnodes = options.vnodesPerNode ?? DEFAULT_VNODES_PER_NODE;
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new RingError('BAD_EPOCH', `epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(vnodes) || vnodes < 1 || vnodes > MAX_VNODES_PER_NODE) {
      throw new RingError(
        'BAD_VNODES',
        `vnodesPerNode must be an integer in 1..${MAX_VNODES_PER_NODE}, got ${vnodes}`,
      );
    }
    if (nodes.length === 0) throw new RingError('NO_NODES', 'a ring needs at least one node');
    const sorted = [...nodes].sort();
    for (let i = 0; i < sorted.length; i++) {
      const id = sorted[i] as string;
      if (typeof id !== 'string' || id.length === 0)
        throw new RingError('BAD_NODE_ID', 'node ids must be non-empty strings');
      if (i > 0 && sorted[i - 1] === id) throw new RingError('DUPLICATE_NODE', `node ${id} is listed twice`);
    }
    this.epoch = epoch;
    this.nodes = Object.freeze(sorted);
    this.vnodesPerNode = vnodes;

    const points: { position: bigint; owner: number }[] = [];
    for (let owner = 0; owner < sorted.length; owner++) {
      for (let i = 0; i < vnodes; i++)
        points.push({ position: vnodePosition(sorted[owner] as string, i), owner });
    }
    // Ties (astronomically unlikely) break on node order so the result never depends on input order.
    points.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : a.owner - b.owner));
    this.positions = new BigUint64Array(points.length);
    this.owners = new Uint32Array(points.length);
    points.forEach((p, i) => {
      this.positions[i] = p.position;
      this.owners[i] = p.owner;
    });
  }

  /** The `count` distinct nodes clockwise from `position` (first vnode at or after it, wrapping). */
  placeAt(position: bigint, count: number): string[] {
    if (!Number.isInteger(count) || count < 1)
      throw new RingError('BAD_COUNT', `count must be a positive integer, got ${count}`);
    if (count > this.nodes.length) {
      throw new RingError(
        'TOO_FEW_NODES',
        `placement needs ${count} distinct nodes, ring epoch ${this.epoch} has ${this.nodes.length}`,
      );
    }
    const total = this.positions.length;
    const chosen: string[] = [];
    const taken = new Uint8Array(this.nodes.length);
    const at = this.firstAtOrAfter(position);
    for (let step = 0; step < total && chosen.length < count; step++) {
      const owner = this.owners[(at + step) % total] as number;
      if (taken[owner] === 0) {
        taken[owner] = 1;
        chosen.push(this.nodes[owner] as string);
      }
    }
    return chosen;
  }

  /** Nodes for shards 0..k+m-1 of chunk `chunkIndex` of `bucket/key`. */
  placeChunk(bucket: string, key: string, chunkIndex: number, count: number): string[] {
    return this.placeAt(chunkPosition(bucket, key, chunkIndex), count);
  }

  private firstAtOrAfter(position: bigint): number {
    let lo = 0;
    let hi = this.positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.positions[mid] as bigint) < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === this.positions.length ? 0 : lo;
  }
}
