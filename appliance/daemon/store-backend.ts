// Adapts the local ShardStore to the narrow ShardBackend the shard server serves from. The shard
// server's comment names a store-backend.ts of its own; until it has one, this is the adapter.
import type { NodeStats, WireShardKey } from '../../shared/protocol/messages.ts';
import type {
  SegmentBytes,
  ShardBackend,
  ShardDescription,
  ShardListPage,
  ShardMeta,
} from '../shard-server/backend.ts';
import { ShardNotFoundError, formatShardKey } from '../store/index.ts';
import type { ShardStore } from '../store/index.ts';

export function shardStoreBackend(store: ShardStore): ShardBackend {
  const describe = async (key: WireShardKey): Promise<ShardDescription | null> => {
    const stat = await store.stat(key);
    return stat === null
      ? null
      : { rsData: stat.rsData, rsParity: stat.rsParity, segmentLengths: stat.segmentLengths };
  };
  return {
    async put(key: WireShardKey, meta: ShardMeta, segments: SegmentBytes[]): Promise<void> {
      // The shard server keeps the bytes unchanged until this settles (ShardBackend.put): no copy needed.
      await store.put(key, meta, segments, { copy: false });
    },
    async stat(key: WireShardKey): Promise<ShardDescription> {
      const found = await describe(key);
      if (found === null) throw new ShardNotFoundError(formatShardKey(key));
      return found;
    },
    readSegments: (key, first, count) => store.readSegments(key, first, count),
    delete: (key) => store.delete(key),
    async list(after: WireShardKey | undefined, limit: number): Promise<ShardListPage> {
      const page = await store.list({ ...(after === undefined ? {} : { after }), limit });
      const entries: ShardListPage['entries'] = [];
      for (const key of page.keys) {
        // A shard deleted between the listing and its stat is simply no longer there.
        const found = await describe(key);
        if (found !== null) entries.push({ key, ...found });
      }
      return { entries, ...(page.next === undefined ? {} : { nextAfter: page.next }) };
    },
    async stats(): Promise<Omit<NodeStats, 'inflightRequests' | 'uptimeSeconds'>> {
      const s = await store.stats();
      return {
        shardCount: s.shardCount,
        liveBytes: s.liveBytes,
        usedBytes: s.liveBytes + s.deadBytes,
        diskTotalBytes: s.disk.totalBytes,
        diskFreeBytes: s.disk.freeBytes,
      };
    },
  };
}
