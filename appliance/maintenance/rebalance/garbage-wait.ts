// A drain keeps the moved-off shards for the read grace (GETs holding the old record still read them);
// the appliances' garbage workers delete them afterwards. The node is marked removed only once that
// is done, because the garbage worker treats a removed node's shards as gone and would leave them on
// disk. A node that is down cannot delete anything: its records stay for when it comes back.
import { TABLES } from '../../../shared/metadata/keys.ts';
import { decodeGarbageRecord } from '../../../shared/metadata/records.ts';
import type { RebalanceJobContext } from './context.ts';
import type { ShardIo } from './shard-io.ts';

/** Garbage records that still name shards on `node` (undecodable records are not counted). */
export async function garbageOnNode(db: RebalanceJobContext['db'], node: string): Promise<number> {
  let pending = 0;
  for await (const item of db.scanAll(TABLES.garbage, { limit: 500 })) {
    try {
      if (decodeGarbageRecord(item.value).shards.some((s) => s.node === node)) pending++;
    } catch {
      // An unreadable record is the garbage worker's to report, not a shard of this node.
    }
  }
  return pending;
}

async function reachable(io: ShardIo, node: string): Promise<boolean> {
  const peer = io.peers.get(node);
  if (peer === undefined) return false;
  try {
    await io.shards.stat(peer, { timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  }
}

/** Failed probes in a row after which the node counts as down (one slow answer under load is not). */
const DOWN_AFTER_PROBES = 3;

/**
 * Polls until no garbage record names `node`, or the node is unreachable; throws when stopped or
 * after `timeoutMs`. Returns the records still naming the node (0 unless it was unreachable).
 */
export async function awaitOldShardsDeleted(
  ctx: Pick<RebalanceJobContext, 'db' | 'signal'>,
  io: ShardIo,
  node: string,
  timeoutMs: number,
  pollMs = 500,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  let failedProbes = 0;
  for (;;) {
    const pending = await garbageOnNode(ctx.db, node);
    if (pending === 0) return 0;
    failedProbes = (await reachable(io, node)) ? 0 : failedProbes + 1;
    if (failedProbes >= DOWN_AFTER_PROBES) return pending;
    if (ctx.signal.aborted)
      throw new Error(`drain of node ${node} stopped while its old shards await deletion`);
    if (Date.now() > until)
      throw new Error(
        `${pending} garbage records still name shards on node ${node} after ${Math.round(timeoutMs / 1000)} s; ` +
          'are the garbage workers running? Resume the drain once they have run',
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
