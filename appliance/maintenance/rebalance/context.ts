// What the rebalance executors need from the job runner (a structural subset of the runner's
// JobContext, so they can also be driven directly, e.g. by tests), and the appliances' addresses.
import type { ClusterConfig } from '../../../shared/config/index.ts';
import type { S3dbClient } from '../../../shared/s3db-client/index.ts';
import type { ShardClient, ShardPeer } from '../../../shared/shard-client/index.ts';

export type JobScalar = string | number | boolean;

export interface ProgressPatch {
  done?: number;
  total?: number;
  bytes?: number;
  unit?: string;
  cursor?: string;
}

export interface RebalanceJobContext {
  job: { id: string; params: Record<string, JobScalar>; cursor?: string };
  signal: AbortSignal;
  progress(patch: ProgressPatch): void | Promise<void>;
  db: S3dbClient;
  shards: ShardClient;
  config: ClusterConfig;
  /** Appliance id → address (the runner's); default: from the config's `[[nodes]]`. */
  peers?: ReadonlyMap<string, ShardPeer>;
  log?: { info?: (msg: string) => void; warn?: (msg: string) => void } | ((line: string) => void);
}

export type ExecutorResult = Record<string, number | string>;

/** Appliance id → shard protocol address, from the config's `[[nodes]]`. */
export function peersFromConfig(config: Pick<ClusterConfig, 'nodes'>): Map<string, ShardPeer> {
  return new Map(
    config.nodes.map((n) => [
      String(n.id),
      { host: n.advertiseHost, port: n.port, serverName: `node-${n.id}.predastore.internal` },
    ]),
  );
}

export function logLine(ctx: Pick<RebalanceJobContext, 'log'>, line: string): void {
  const log = ctx.log;
  if (log === undefined) return;
  if (typeof log === 'function') log(line);
  else log.info?.(line);
}
