// Which shards of a chunk to rebuild, where to write them and which k shards to read (pure).
import { chunkPosition } from '../../shared/ring/index.ts';
import type { HashRing } from '../../shared/ring/index.ts';

/**
 * What is known about one shard: ok (present, right shape, verified when it was suspect), missing
 * (the appliance says it does not have it), corrupt (wrong shape or failed its CRC), unreachable
 * (its appliance did not answer: neither readable nor writable now).
 */
export type ShardHealth = 'ok' | 'missing' | 'corrupt' | 'unreachable';

export interface ShardSlot {
  shardIndex: number;
  /** The appliance the record places it on. */
  node: string;
  health: ShardHealth;
  /** The appliance is gone for good (not in the config, or removed from the ring). */
  gone: boolean;
}

export interface RepairTarget {
  shardIndex: number;
  /** Where the rebuilt shard goes. */
  node: string;
  /** Set when `node` replaces a gone appliance: the record's placement must change. */
  replaces?: string;
}

export interface RepairPlan {
  targets: RepairTarget[];
  /** k shard indexes to read (data shards first). */
  sources: number[];
  /** Shards that need rebuilding but cannot be written now (appliance down, no replacement). */
  blocked: number[];
  /** Set when fewer than k shards are readable: nothing can be rebuilt now. */
  unrecoverable?: string;
}

/** A shard must be rebuilt when it is missing or corrupt, or its appliance is gone for good. */
export function needsRebuild(slot: ShardSlot): boolean {
  return slot.gone || slot.health === 'missing' || slot.health === 'corrupt';
}

export function planChunkRepair(
  k: number,
  slots: readonly ShardSlot[],
  /** A node for a replacement shard that is none of `exclude`, or undefined when there is none. */
  replacement: (exclude: ReadonlySet<string>) => string | undefined,
): RepairPlan {
  const readable = slots.filter((s) => s.health === 'ok' && !s.gone).map((s) => s.shardIndex);
  const wanted = slots.filter(needsRebuild);
  if (wanted.length === 0) return { targets: [], sources: [], blocked: [] };
  if (readable.length < k)
    return {
      targets: [],
      sources: [],
      blocked: wanted.map((s) => s.shardIndex),
      unrecoverable: `only ${readable.length} of ${slots.length} shards are readable, ${k} are needed`,
    };
  const sources = [...readable].sort((a, b) => a - b).slice(0, k);
  const exclude = new Set(slots.map((s) => s.node));
  const targets: RepairTarget[] = [];
  const blocked: number[] = [];
  for (const slot of wanted) {
    if (!slot.gone) {
      targets.push({ shardIndex: slot.shardIndex, node: slot.node });
      continue;
    }
    const node = replacement(exclude);
    if (node === undefined) {
      blocked.push(slot.shardIndex);
      continue;
    }
    exclude.add(node);
    targets.push({ shardIndex: slot.shardIndex, node, replaces: slot.node });
  }
  return { targets, sources, blocked };
}

/**
 * The replacement for a chunk's shard: the first node clockwise from the chunk's ring position that
 * holds no shard of the chunk yet (so the replacement is deterministic and spreads like placement).
 */
export function chooseReplacement(
  ring: HashRing,
  bucket: string,
  key: string,
  chunkIndex: number,
  exclude: ReadonlySet<string>,
): string | undefined {
  const order = ring.placeAt(chunkPosition(bucket, key, chunkIndex), ring.nodes.length);
  return order.find((node) => !exclude.has(node));
}
