// CPU cost of the pure Raft core: a 3-node cluster in one process, every message through the binary codec, no
// disk or network. Shows whether the core could limit s3db throughput. Run: node --import tsx test/bench/raft-core.bench.ts
import { RaftNode, encodeMessage, decodeMessage } from '../../appliance/s3db/raft/index.ts';
import type { Message } from '../../appliance/s3db/raft/index.ts';
import { createPrng } from '../sim/prng.ts';

function cluster(): { nodes: Map<number, RaftNode>; pump: () => number } {
  const nodes = new Map<number, RaftNode>();
  for (const id of [1, 2, 3]) {
    nodes.set(
      id,
      new RaftNode({
        id,
        peers: [1, 2, 3],
        random: createPrng(id).next,
        storage: { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] },
      }),
    );
  }
  let queue: Uint8Array[] = [];
  let applied = 0;
  const pump = (): number => {
    for (let guard = 0; guard < 1_000_000; guard++) {
      let progressed = false;
      for (const [id, n] of nodes) {
        while (n.hasReady()) {
          const rd = n.ready();
          for (const m of rd.messages) queue.push(encodeMessage(m));
          if (id === 2) applied += rd.committedEntries.length;
          n.advance(rd);
          progressed = true;
        }
      }
      if (queue.length === 0 && !progressed) return applied;
      const batch = queue;
      queue = [];
      for (const bytes of batch) {
        const m: Message = decodeMessage(bytes);
        nodes.get(m.to)!.step(m);
      }
    }
    throw new Error('did not settle');
  };
  for (let i = 0; i < 30 && nodes.get(1)!.status().role !== 'leader'; i++) {
    nodes.get(1)!.tick();
    pump();
  }
  return { nodes, pump };
}

function run(batch: number, total: number): number {
  const { nodes, pump } = cluster();
  const leader = nodes.get(1)!;
  const data = new Uint8Array(256).fill(7);
  const start = pump();
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < total; done += batch) {
    for (let i = 0; i < batch; i++) leader.propose(data);
    pump();
    leader.tick(); // heartbeat carries the final commit index
    pump();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const applied = pump() - start;
  if (applied < total) throw new Error(`only ${applied} of ${total} applied on a follower`);
  return total / secs;
}

run(16, 2000); // warm-up
console.log(`BENCH raft_core_commits_batch1 ${run(1, 5000).toFixed(0)} entries/s`);
console.log(`BENCH raft_core_commits_batch64 ${run(64, 64_000).toFixed(0)} entries/s`);
