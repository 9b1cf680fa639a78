// What the distributed data path needs: the shard client, placement, peers, geometry and limits.
import type { ReedSolomonCodec } from '../../../shared/erasure/index.ts';
import type { HashRing } from '../../../shared/ring/index.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';
import type { Geometry } from '../../../shared/datapath/index.ts';
import { ReedSolomonCodec as Codec } from '../../../shared/erasure/index.ts';
import { makeGeometry } from '../../../shared/datapath/index.ts';
import type { ClusterRing } from '../../../shared/cluster/index.ts';

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
  /** PUTs of at most this many declared bytes are stored inline in the s3db record (0/absent: never). */
  inlineMaxBytes?: number;
  /** Stream shards segment by segment when the size is declared (default); false: collect chunks. */
  streamShards?: boolean;
  /** GET reads a chunk this many stripes at a time (default 32: 2 MiB per data shard and request). */
  readWindowStripes?: number;
  /** Read windows fetched ahead of the one being sent (default 2). */
  readWindowsAhead?: number;
}

/** Timeout of a shard request that moves `bytes` (a slow, loaded machine still finishes big shards). */
export function timeoutFor(baseMs: number, bytes: number, minBytesPerMs: number): number {
  return Math.ceil(baseMs + bytes / minBytesPerMs);
}

/**
 * The context a PUT writes with: `base` with the placement ring and RS scheme of the cluster's ring
 * record (shared/cluster), taken once per PUT so one object never mixes two rings or schemes.
 */
export function withClusterRing(
  base: DataPathContext,
  cluster: ClusterRing,
  maxChunkSize: number,
): DataPathContext {
  const { k, m } = base.geometry.scheme;
  const sameScheme = k === cluster.rs.k && m === cluster.rs.m;
  if (base.ring === cluster.ring && sameScheme) return base;
  if (sameScheme) return { ...base, ring: cluster.ring };
  return {
    ...base,
    ring: cluster.ring,
    geometry: makeGeometry(cluster.rs, { segmentSize: base.geometry.segmentSize, maxChunkSize }),
    codec: new Codec(cluster.rs),
  };
}
