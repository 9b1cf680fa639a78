// A tiny deterministic, fault-free driver for scenario tests: FIFO delivery, explicit ticks, isolation.
import { RaftNode } from '../../../appliance/s3db/raft/index.ts';
import type {
  Entry,
  HardState,
  Message,
  RaftConfig,
  ReadState,
  Snapshot,
} from '../../../appliance/s3db/raft/index.ts';
import { createPrng } from '../../sim/prng.ts';

export interface TestNode {
  id: number;
  raft: RaftNode;
  disk: { hardState: HardState; snapshot: Snapshot | undefined; entries: Entry[] };
  applied: Entry[];
  readStates: ReadState[];
  snapshotsReceived: number;
}

export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  queue: Message[] = [];
  private readonly isolated = new Set<number>();
  private side: Set<number> | undefined;
  private seed = 1;

  constructor(
    ids: number[],
    private readonly extra: Partial<RaftConfig> = {},
  ) {
    for (const id of ids) this.add(id, ids);
  }

  add(id: number, peers: number[]): TestNode {
    const n: TestNode = {
      id,
      raft: undefined as unknown as RaftNode,
      disk: { hardState: { term: 0, vote: 0, commit: 0 }, snapshot: undefined, entries: [] },
      applied: [],
      readStates: [],
      snapshotsReceived: 0,
    };
    this.nodes.set(id, n);
    this.boot(n, peers);
    return n;
  }

  private boot(n: TestNode, peers: number[]): void {
    n.raft = new RaftNode({
      id: n.id,
      peers,
      random: createPrng(this.seed++ * 7919).next,
      storage: {
        hardState: { ...n.disk.hardState },
        snapshot: n.disk.snapshot,
        entries: n.disk.entries.slice(),
      },
      applied: n.disk.snapshot?.metadata.index ?? 0,
      ...this.extra,
    });
    n.applied = n.applied.filter((e) => e.index <= (n.disk.snapshot?.metadata.index ?? 0));
    this.process(n.id);
  }

  /** Restart a node from its disk (everything in memory is lost). */
  restart(id: number): void {
    this.boot(this.node(id), []);
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Handle every Ready of a node per the contract: persist, send, apply, advance. */
  process(id: number): void {
    const n = this.node(id);
    for (let guard = 0; n.raft.hasReady(); guard++) {
      if (guard > 1000) throw new Error('endless Ready');
      const rd = n.raft.ready();
      if (rd.snapshot) {
        n.disk.snapshot = rd.snapshot;
        n.disk.entries = [];
        n.snapshotsReceived++;
        n.applied = [];
      }
      if (rd.entries.length > 0) {
        const base = n.disk.snapshot?.metadata.index ?? 0;
        n.disk.entries.length = rd.entries[0]!.index - base - 1;
        n.disk.entries.push(...rd.entries);
      }
      if (rd.hardState) n.disk.hardState = { ...rd.hardState };
      this.queue.push(...rd.messages);
      n.applied.push(...rd.committedEntries);
      n.readStates.push(...rd.readStates);
      n.raft.advance(rd);
    }
  }

  isolate(id: number): void {
    this.isolated.add(id);
  }

  /** Split the cluster: `side` and the rest cannot talk to each other. */
  split(side: number[]): void {
    this.side = new Set(side);
  }

  heal(): void {
    this.isolated.clear();
    this.side = undefined;
  }

  /** Deliver queued messages (and the ones they cause) until quiet. Messages to/from isolated nodes are lost. */
  deliverAll(filter: (m: Message) => boolean = () => true): number {
    let delivered = 0;
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 100_000) throw new Error('message storm');
      const m = this.queue.shift()!;
      if (this.isolated.has(m.from) || this.isolated.has(m.to) || !filter(m)) continue;
      if (this.side !== undefined && this.side.has(m.from) !== this.side.has(m.to)) continue;
      const target = this.nodes.get(m.to);
      if (target === undefined) continue;
      target.raft.step(m);
      delivered++;
      this.process(m.to);
    }
    return delivered;
  }

  tick(id: number, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).raft.tick();
      this.process(id);
    }
  }

  /** Tick every node `times` times, delivering messages after each round. */
  tickAll(times: number): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.nodes.keys()) this.tick(id);
      this.deliverAll();
    }
  }

  /** Make `id` campaign (ticking only it past the max randomized timeout) and deliver the election. */
  elect(id: number): void {
    const electionTick = this.extra.electionTick ?? 10;
    for (let i = 0; i < 2 * electionTick && this.node(id).raft.status().role === 'follower'; i++)
      this.tick(id);
    this.deliverAll();
  }

  /** Tick only `ids` (others stay silent) until one of them leads; returns it. */
  electAmong(ids: number[], filter?: (m: Message) => boolean): number {
    for (let i = 0; i < 100; i++) {
      for (const id of ids) this.tick(id);
      this.deliverAll(filter);
      const l = ids.find((id) => this.node(id).raft.status().role === 'leader');
      if (l !== undefined) return l;
    }
    throw new Error(`no leader among ${ids.join(',')}`);
  }

  leaders(): number[] {
    return [...this.nodes.values()].filter((n) => n.raft.status().role === 'leader').map((n) => n.id);
  }

  propose(id: number, text: string): number {
    const index = this.node(id).raft.propose(new TextEncoder().encode(text));
    this.process(id);
    this.deliverAll();
    return index;
  }

  /** The normal (non-empty) payloads a node has applied, as strings. */
  appliedData(id: number): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}
