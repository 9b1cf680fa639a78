// Which appliances are gone for good and which may take replacement shards: the config's [[nodes]]
// (addresses) and the ring record in s3db (states active/draining/removed), re-read every few seconds.
import type { ClusterConfig } from '../../shared/config/index.ts';
import { loadRing, placementRing } from '../../shared/cluster/index.ts';
import type { RingDb } from '../../shared/cluster/index.ts';
import type { RingRecord } from '../../shared/cluster/index.ts';
import { HashRing } from '../../shared/ring/index.ts';

export interface Membership {
  /** Not in the config any more, or removed from the ring: its shards must be rebuilt elsewhere. */
  isGone(node: string): boolean;
  /** Ring of the nodes new (and replacement) shards may go to. */
  placement(): HashRing;
}

/** Membership from a config and an optional ring record (pure). */
export function membershipOf(
  config: Pick<ClusterConfig, 'nodes' | 'ring'>,
  ring: RingRecord | undefined,
): Membership {
  const configured = new Set(config.nodes.map((n) => String(n.id)));
  const removed = new Set(ring?.nodes.filter((n) => n.state === 'removed').map((n) => n.id) ?? []);
  const fromRing = ring === undefined ? undefined : placementRing(ring);
  const usable = (fromRing?.nodes ?? [...configured]).filter((id) => configured.has(id));
  const placement = new HashRing({
    nodes: usable.length > 0 ? usable : [...configured],
    epoch: fromRing?.epoch ?? 0,
    vnodesPerNode: fromRing?.vnodesPerNode ?? config.ring.vnodes,
  });
  return {
    isGone: (node) => !configured.has(node) || removed.has(node),
    placement: () => placement,
  };
}

/** Re-reads the ring record at most every `refreshMs`; keeps the last good answer if s3db fails. */
export class MembershipSource {
  private current: Membership;
  private loadedAt = 0;

  constructor(
    private readonly db: RingDb,
    private readonly config: Pick<ClusterConfig, 'nodes' | 'ring'>,
    private readonly refreshMs = 5000,
  ) {
    this.current = membershipOf(config, undefined);
  }

  async get(): Promise<Membership> {
    if (Date.now() - this.loadedAt < this.refreshMs) return this.current;
    try {
      const stored = await loadRing(this.db);
      this.current = membershipOf(this.config, stored?.record);
    } catch {
      // s3db unreachable or a record this version cannot read: keep what we had.
    }
    this.loadedAt = Date.now();
    return this.current;
  }
}
