import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrphanTracker, sweepOrphans } from '../../../appliance/maintenance/orphans.ts';
import { emptyStats } from '../../../appliance/maintenance/stats.ts';
import { TABLES, garbageKey, objectKey, partKey } from '../../../shared/metadata/keys.ts';
import { encodeGarbageRecord, encodeObjectRecord } from '../../../shared/metadata/records.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { MemoryDb } from '../jobs/memory-db.ts';

const id = (n: number): string => n.toString(16).padStart(2, '0').repeat(16);

/** A local store holding one shard of each version. */
function store(versions: string[]) {
  const keys = new Map<string, ShardKey>(
    versions.map((v) => [v, { versionId: Buffer.from(v, 'hex'), chunkIndex: 0, shardIndex: 1 }]),
  );
  return {
    keys,
    async list({ after, limit }: { after?: ShardKey; limit: number }) {
      const all = [...keys.values()].sort((a, b) =>
        Buffer.compare(Buffer.from(a.versionId), Buffer.from(b.versionId)),
      );
      const from = after
        ? all.findIndex((k) => Buffer.compare(Buffer.from(k.versionId), Buffer.from(after.versionId)) > 0)
        : 0;
      const page = from < 0 ? [] : all.slice(from, from + limit);
      return page.length === limit && from + limit < all.length
        ? { keys: page, next: page.at(-1)! }
        : { keys: page };
    },
    async delete(key: ShardKey) {
      return keys.delete(Buffer.from(key.versionId).toString('hex'));
    },
  };
}

test('orphan sweep: only versions no part, object or garbage record names, and only after the grace', async () => {
  const db = new MemoryDb();
  const [live, manifestData, part, garbage, garbageRef, orphan] = [1, 2, 3, 4, 5, 6].map(id);
  const object = {
    v: 1 as const,
    versionId: live!,
    size: 20,
    etag: '0'.repeat(32),
    lastModified: 0,
    meta: { contentType: 'x', userMetadata: {} },
    segmentSize: 64,
    chunkSize: 128,
    chunks: [
      { length: 10, k: 1, m: 1, epoch: 0, nodes: ['1', '2'] },
      {
        length: 10,
        k: 1,
        m: 1,
        epoch: 0,
        nodes: ['1', '2'],
        data: { versionId: manifestData!, chunkIndex: 0 },
      },
    ],
    parts: [
      { size: 10, etag: '0'.repeat(32), chunks: 1 },
      { size: 10, etag: '0'.repeat(32), chunks: 1 },
    ],
  };
  await db.put(TABLES.objects, objectKey('b', 'k'), encodeObjectRecord(object));
  await db.put(TABLES.parts, partKey(Buffer.alloc(16, 9), 1), Buffer.from(JSON.stringify({ dataId: part })));
  await db.put(
    TABLES.garbage,
    garbageKey(Buffer.from(garbage!, 'hex')),
    encodeGarbageRecord({
      v: 1,
      versionId: garbage!,
      reason: 'overwrite',
      created: 0,
      notBefore: 0,
      attempts: 0,
      shards: [{ versionId: garbageRef!, chunkIndex: 0, shardIndex: 1, node: '1' }],
    }),
  );
  const local = store([live!, manifestData!, part!, garbage!, garbageRef!, orphan!]);
  const deps = { store: local, db, tracker: new OrphanTracker(1000), stats: emptyStats(1), log: () => {} };
  const first = await sweepOrphans(deps, 0);
  assert.deepEqual(first, { localVersions: 6, unreferenced: 1, deletedVersions: 0, deletedShards: 0 });
  assert.equal((await sweepOrphans(deps, 999)).deletedShards, 0, 'still inside the grace period');
  const late = await sweepOrphans(deps, 1000);
  assert.equal(late.deletedShards, 1);
  assert.deepEqual([...local.keys.keys()].sort(), [live, manifestData, part, garbage, garbageRef].sort());
  assert.equal(deps.stats.orphans.shardsDeleted, 1);
});
