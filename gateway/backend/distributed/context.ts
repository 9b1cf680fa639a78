// What the distributed data path needs: the shard client, placement, peers, geometry and limits.
import type { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { HashRing } from '../../../shared/ring/index.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';
import type { Geometry } from '../../datapath/index.ts';

export interface DataPathContext {
  shards: ShardClient;
  ring: HashRing;
  /** Appliance id (as placed on the ring and recorded) → address. */
  peers: ReadonlyMap<string, ShardPeer>;
  geometry: Geometry;
  codec: ReedSolomonCodec;
  maxChunksInFlight: number;
  /** Base per-request timeouts; a request moving `bytes` gets `bytes / minBytesPerMs` more. */
  writeTimeoutMs: number;
  readTimeoutMs: number;
  minBytesPerMs: number;
  /** Full-size shard buffers kept between PUTs (big buffers reused instead of left to the GC). */
  shardBuffers: ShardBufferCache;
}

/** A bounded free list of k+m shard buffers of one chunk's full shard size. */
export class ShardBufferCache {
  private readonly free: Buffer[][] = [];
  constructor(
    readonly shardBytes: number,
    private readonly maxSets: number,
  ) {}

  take(count: number, bytes: number): Buffer[] {
    if (bytes === this.shardBytes) {
      const set = this.free.pop();
      if (set !== undefined && set.length === count) return set;
    }
    return Array.from({ length: count }, () => Buffer.allocUnsafeSlow(bytes));
  }

  give(set: Buffer[]): void {
    if (this.free.length < this.maxSets && set.every((b) => b.length === this.shardBytes))
      this.free.push(set);
  }
}

/** Timeout of a shard request that moves `bytes` (a slow, loaded machine still finishes big shards). */
export function timeoutFor(baseMs: number, bytes: number, minBytesPerMs: number): number {
  return Math.ceil(baseMs + bytes / minBytesPerMs);
}
