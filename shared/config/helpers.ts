import { isLocalOnlyHost } from './hosts.ts';
import type { ClusterConfig, DbNodeConfig, ShardNodeConfig } from './types.ts';

export { isLocalOnlyHost, isLoopbackHost, isWildcardHost } from './hosts.ts';

/**
 * Dev mode (spec §14): every s3db node and shard node lives on this machine, because every
 * bind host and every advertised host is loopback (or a wildcard bind advertised as loopback).
 */
export function isDevMode(config: ClusterConfig): boolean {
  const hosts = [...config.db, ...config.nodes].flatMap((n) => [n.host, n.advertiseHost]);
  return hosts.every(isLocalOnlyHost);
}

/** The s3db node with this id, or undefined. */
export function dbNode(config: ClusterConfig, id: number): DbNodeConfig | undefined {
  return config.db.find((d) => d.id === id);
}

/** The shard node (appliance) with this id, or undefined. */
export function shardNode(config: ClusterConfig, id: number): ShardNodeConfig | undefined {
  return config.nodes.find((n) => n.id === id);
}
