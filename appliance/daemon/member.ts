// What one cluster-member process runs: some s3db nodes and some appliances of the config, in this
// process. s3db nodes start first (appliances do not need them, but a half-started member that serves
// shards and has no metadata quorum helps nobody); a failure part-way closes what already started.
import type { ClusterConfig } from '../../shared/config/index.ts';
import { startS3dbNodeFromConfig } from '../s3db/node.ts';
import type { S3dbNodeHandle } from '../s3db/node.ts';
import { startAppliance } from './appliance.ts';
import { observeS3dbNode } from './observability.ts';

export interface MemberPart {
  /** "s3db 1", "node 3": the same names the supervisor and `ps` use. */
  role: string;
  detail: Record<string, unknown>;
}

export interface RunningMember {
  parts: MemberPart[];
  /** Resolves (never rejects) if a part stopped by itself after a fatal error, with that error. */
  fatal: Promise<{ role: string; error: unknown }>;
  close(): Promise<void>;
}

export async function startMember(
  config: ClusterConfig,
  dbNodeIds: readonly number[],
  shardNodeIds: readonly number[],
  log: (line: string) => void = () => {},
): Promise<RunningMember> {
  const closers: Array<() => Promise<void>> = [];
  const parts: MemberPart[] = [];
  const fatals: Array<Promise<{ role: string; error: unknown }>> = [];
  const closeAll = async (): Promise<void> => {
    // Reverse start order: appliances, then s3db.
    for (const close of closers.reverse())
      await close().catch((e: unknown) => log(`close failed: ${String(e)}`));
    closers.length = 0;
  };
  try {
    for (const id of dbNodeIds) {
      const node: S3dbNodeHandle = await startS3dbNodeFromConfig(config, id, { log });
      closers.push(() => node.close());
      const observed = await observeS3dbNode(config, id, () => node.driver.status(), log);
      closers.push(() => observed.close());
      const d = config.db.find((x) => x.id === id);
      parts.push({
        role: `s3db ${id}`,
        detail: {
          api: `${d?.advertiseHost ?? ''}:${node.httpPort}`,
          raft: `${d?.advertiseHost ?? ''}:${node.raftPort}`,
        },
      });
      fatals.push(node.fatal.then((error) => ({ role: `s3db ${id}`, error })));
    }
    for (const id of shardNodeIds) {
      const appliance = await startAppliance(config, id, log);
      closers.push(() => appliance.close());
      const n = config.nodes.find((x) => x.id === id);
      parts.push({
        role: `node ${id}`,
        detail: { shard: `${n?.advertiseHost ?? ''}:${appliance.port}`, transport: config.transport.kind },
      });
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    parts,
    fatal: fatals.length === 0 ? new Promise(() => {}) : Promise.race(fatals),
    close: () => (closing ??= closeAll()),
  };
}
