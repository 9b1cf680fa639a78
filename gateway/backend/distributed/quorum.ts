// Write and read quorum decisions for one chunk (pure). DESIGN §3: a chunk is durable once k+1 of
// its k+m shards are (k when m = 1, all k when m = 0); the rest are healed from a repair task.

export function writeQuorum(k: number, m: number): number {
  return m <= 1 ? k : k + 1;
}

export interface ChunkWriteOutcome {
  durable: boolean;
  /** Shard indexes that were not written (repair them when the chunk is durable). */
  failed: number[];
  written: number[];
}

export function chunkWriteOutcome(ok: readonly boolean[], k: number, m: number): ChunkWriteOutcome {
  if (ok.length !== k + m) throw new Error(`expected ${k + m} shard results, got ${ok.length}`);
  const failed: number[] = [];
  const written: number[] = [];
  ok.forEach((good, i) => (good ? written : failed).push(i));
  return { durable: written.length >= writeQuorum(k, m), failed, written };
}

/**
 * Shards to read for a chunk whose shards in `unavailable` cannot be read: the k first readable ones
 * (data shards first, so a healthy read touches no parity), or undefined when fewer than k remain.
 */
export function readSet(k: number, m: number, unavailable: ReadonlySet<number>): number[] | undefined {
  const chosen: number[] = [];
  for (let i = 0; i < k + m && chosen.length < k; i++) if (!unavailable.has(i)) chosen.push(i);
  return chosen.length === k ? chosen : undefined;
}
