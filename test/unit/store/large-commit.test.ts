/**
 * Large uncompressed shards take the commit's fast path: CRCs computed while the bytes are written (record
 * head written afterwards) and early write-back in small pieces. The records must be indistinguishable from
 * the ordinary ones: same CRCs, readable after a reopen, after an index rebuild, and clean for scrub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { crc32c } from '../../../shared/checksum/index.ts';
import { makeData, randomKey, tempDir, toSegments } from './helpers.ts';

const meta = { rsData: 3, rsParity: 2 };

test('large uncompressed shards (CRCs during the writes, early write-back) survive reopen, rebuild and scrub', async () => {
  const dir = await tempDir();
  try {
    const options = {
      path: dir.path,
      volumeSizeBytes: 3 * 1024 * 1024,
      writeBackPieceBytes: 96 * 1024,
      writeBackMinCommitBytes: 0,
    };
    let store = await ShardStore.open(options);
    const sizes = [512 * 1024, 512 * 1024 + 1, 1_300_000, 2 * 1024 * 1024, 4096, 700_001];
    const shards: Array<{ key: ShardKey; data: Buffer }> = sizes.map((size, i) => ({
      key: randomKey(i),
      data: makeData(size, 100 + i),
    }));
    // Concurrent puts share commits; the 3 MiB volumes make some commits span a rollover.
    await Promise.all(
      shards.map((s, i) => store.put(s.key, meta, toSegments(s.data), { copy: i % 2 === 0 })),
    );
    // A re-put of a large shard in its own commit replaces the first record.
    shards[0]!.data = makeData(sizes[0]!, 999);
    await store.put(shards[0]!.key, meta, toSegments(shards[0]!.data));
    const check = async (s: ShardStore): Promise<void> => {
      for (const { key, data } of shards) {
        assert.ok((await s.readShard(key)).equals(data));
        const stat = await s.stat(key);
        assert.deepEqual(
          stat?.segmentCrcs,
          toSegments(data).map((seg) => crc32c(seg)),
        );
        const mid = Math.floor((stat?.segments ?? 1) / 2);
        const [segment] = await s.readSegments(key, mid, 1);
        assert.ok(segment?.equals(data.subarray(mid * 65536, (mid + 1) * 65536)));
      }
    };
    await check(store);
    assert.ok((await store.stats()).volumes.length >= 2, 'volumes rolled over');
    await store.close();

    store = await ShardStore.open(options);
    assert.equal(store.openReport.rebuilt, undefined);
    await check(store);
    await store.close();

    await rm(join(dir.path, 'index'), { recursive: true });
    store = await ShardStore.open(options);
    assert.ok(store.openReport.rebuilt, 'index rebuilt from the volumes');
    assert.deepEqual(store.openReport.truncatedTails, []);
    await check(store);
    const scrub = await store.scrub();
    assert.equal(scrub.corruptShards.length, 0);
    assert.equal(scrub.damagedRegions.length, 0);
    assert.equal((await store.stats()).shardCount, shards.length);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});
