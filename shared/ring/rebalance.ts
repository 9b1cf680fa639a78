/**
 * New shard→node assignment for a chunk when the ring changes: every node that holds a shard in
 * `previous` and is still chosen in `next` keeps its shard index, so only shards whose node left the
 * chosen set move (to the newly chosen nodes, in ring order). Both arrays are indexed by shard.
 */
export function rebalancePlacement(previous: readonly string[], next: readonly string[]): string[] {
  if (previous.length !== next.length) {
    throw new RangeError(`placements differ in width: ${previous.length} vs ${next.length}`);
  }
  const chosen = new Set(next);
  const kept = new Set(previous.filter((node) => chosen.has(node)));
  const incoming = next.filter((node) => !kept.has(node));
  let nextIncoming = 0;
  return previous.map((node) => (kept.has(node) ? node : (incoming[nextIncoming++] as string)));
}

/** Shard indexes whose node differs between two placements of the same chunk. */
export function movedShards(previous: readonly string[], next: readonly string[]): number[] {
  const moved: number[] = [];
  for (let i = 0; i < previous.length; i++) if (previous[i] !== next[i]) moved.push(i);
  return moved;
}
