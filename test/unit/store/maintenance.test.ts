import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptSegmentError, ShardNotFoundError, ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { makeData, randomKey, tempDir, toSegments } from './helpers.ts';

const meta = { rsData: 2, rsParity: 1 };

async function fillStore(
  store: ShardStore,
  n: number,
  size: number,
): Promise<Array<{ key: ShardKey; data: Buffer }>> {
  const shards = Array.from({ length: n }, (_, i) => ({
    key: randomKey(i, 0),
    data: makeData(size + i, i + 1),
  }));
  await Promise.all(shards.map((s) => store.put(s.key, meta, toSegments(s.data))));
  return shards;
}

test('a flipped byte fails that segment with a located corruption error; scrub finds it', async () => {
  const dir = await tempDir();
  try {
    let store = await ShardStore.open({ path: dir.path });
    const shards = await fillStore(store, 5, 3 * 65536);
    const victim = shards[2]!;
    await store.close();
    // Locate segment 1 of the victim via a fresh open, then flip one byte of it on disk.
    store = await ShardStore.open({ path: dir.path });
    const entry = await store.lookup(
      Buffer.concat([victim.key.versionId, Buffer.from([0, 0, 0, 2]), Buffer.from([0])]),
    );
    assert.ok(entry);
    const segOffset = entry.offset + 64 + 16 * entry.segments.length + 65536;
    const fh = await open(join(dir.path, 'volumes', '00000001.vol'), 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, segOffset + 100);
    b[0] = b[0]! ^ 0x5a;
    await fh.write(b, 0, 1, segOffset + 100);
    await fh.close();

    const err = await store.readSegments(victim.key, 1, 1).catch((e: unknown) => e);
    assert.ok(err instanceof CorruptSegmentError, String(err));
    assert.equal(err.code, 'CORRUPT_SEGMENT');
    assert.equal(err.segmentIndex, 1);
    assert.equal(err.volume, 1);
    assert.equal(err.offset, segOffset);
    await assert.rejects(store.readShard(victim.key), CorruptSegmentError);
    // The other segments of the victim and the other shards still read fine.
    assert.ok(
      Buffer.from(toSegments(victim.data)[0]!).equals((await store.readSegments(victim.key, 0, 1))[0]!),
    );
    for (const s of shards.filter((s) => s !== victim))
      assert.ok((await store.readShard(s.key)).equals(s.data));

    const progress: number[] = [];
    const report = await store.scrub((p) => progress.push(p.volumesDone));
    assert.equal(report.corruptShards.length, 1);
    assert.deepEqual(report.corruptShards[0]!.key.versionId, Uint8Array.from(victim.key.versionId));
    assert.equal(report.corruptShards[0]!.segmentIndex, 1);
    assert.equal(report.records, 5);
    assert.deepEqual(progress, [1]);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('deleting the index directory rebuilds it: live shards readable, deleted stay deleted, replaced stay replaced', async () => {
  const dir = await tempDir();
  try {
    let store = await ShardStore.open({ path: dir.path, volumeSizeBytes: 256 * 1024, compression: 'lz4' });
    const shards = await fillStore(store, 30, 20_000);
    const deleted = shards.slice(0, 10);
    for (const s of deleted) assert.equal(await store.delete(s.key), true);
    const replaced = shards[15]!;
    replaced.data = makeData(5000, 4242);
    await store.put(replaced.key, meta, toSegments(replaced.data));
    const statsBefore = await store.stats();
    await store.close();

    await rm(join(dir.path, 'index'), { recursive: true });
    store = await ShardStore.open({ path: dir.path, volumeSizeBytes: 256 * 1024 });
    assert.ok(store.openReport.rebuilt, 'index was rebuilt');
    assert.equal(store.openReport.rebuilt.liveShards, 20);
    for (const s of deleted) {
      assert.equal(await store.has(s.key), false);
      await assert.rejects(store.readShard(s.key), ShardNotFoundError);
    }
    for (const s of shards.slice(10)) assert.ok((await store.readShard(s.key)).equals(s.data));
    const statsAfter = await store.stats();
    assert.equal(statsAfter.shardCount, 20);
    assert.equal(statsAfter.liveBytes, statsBefore.liveBytes);
    assert.equal(statsAfter.deadBytes, statsBefore.deadBytes);
    // Writes continue after a rebuild.
    const extra = randomKey(99);
    await store.put(extra, meta, [Buffer.from('after rebuild')]);
    assert.equal((await store.readShard(extra)).toString(), 'after rebuild');
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('a damaged index (garbage manifest) is rebuilt', async () => {
  const dir = await tempDir();
  try {
    let store = await ShardStore.open({ path: dir.path });
    const shards = await fillStore(store, 8, 1000);
    await store.close();
    for (const name of await readdir(join(dir.path, 'index'))) {
      if (name.startsWith('MANIFEST')) await writeFile(join(dir.path, 'index', name), 'garbage');
    }
    store = await ShardStore.open({ path: dir.path });
    assert.match(store.openReport.rebuilt?.reason ?? '', /does not open/);
    for (const s of shards) assert.ok((await store.readShard(s.key)).equals(s.data));
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('a torn record at a volume tail is cut off on rebuild, not indexed', async () => {
  const dir = await tempDir();
  try {
    let store = await ShardStore.open({ path: dir.path });
    const shards = await fillStore(store, 4, 70_000);
    await store.close();
    const path = join(dir.path, 'volumes', '00000001.vol');
    const fh = await open(path, 'r+');
    const size = (await fh.stat()).size;
    await fh.truncate(size - 1000); // the last record loses its end
    await fh.close();
    await rm(join(dir.path, 'index'), { recursive: true });
    store = await ShardStore.open({ path: dir.path });
    const rebuilt = store.openReport.rebuilt;
    assert.ok(rebuilt);
    assert.equal(rebuilt.truncated.length, 1);
    assert.equal(rebuilt.liveShards, 3);
    const stats = await store.stats();
    assert.equal(stats.shardCount, 3);
    // Exactly one shard (the last written) is gone; the rest read back.
    let missing = 0;
    for (const s of shards) {
      if (await store.has(s.key)) assert.ok((await store.readShard(s.key)).equals(s.data));
      else missing++;
    }
    assert.equal(missing, 1);
    assert.equal((await store.scrub()).damagedRegions.length, 0);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('compaction reclaims garbage, keeps live shards, and deleted shards stay deleted through a rebuild', async () => {
  const dir = await tempDir();
  try {
    const opts = { path: dir.path, volumeSizeBytes: 200 * 1024, compactionGarbageRatio: 0.3 };
    let store = await ShardStore.open(opts);
    const shards = await fillStore(store, 40, 15_000);
    const deleted = shards.filter((_, i) => i % 3 !== 0);
    for (const s of deleted) await store.delete(s.key);
    const kept = shards.filter((_, i) => i % 3 === 0);
    const before = await store.stats();
    assert.ok(before.deadBytes > 0);
    const results = await store.compact();
    assert.ok(results.length > 0);
    const after = await store.stats();
    assert.equal(after.shardCount, kept.length);
    assert.ok(after.deadBytes < before.deadBytes, `${after.deadBytes} < ${before.deadBytes}`);
    const onDisk = (await readdir(join(dir.path, 'volumes'))).length;
    assert.equal(onDisk, after.volumes.length);
    for (const s of kept) assert.ok((await store.readShard(s.key)).equals(s.data));
    for (const s of deleted) assert.equal(await store.has(s.key), false);
    // A second pass finds nothing left to do above the threshold... and the index rebuilt from the compacted
    // volumes agrees.
    await store.compact();
    const incremental = await store.stats();
    await store.close();
    await rm(join(dir.path, 'index'), { recursive: true });
    store = await ShardStore.open(opts);
    assert.ok(store.openReport.rebuilt);
    const rebuilt = await store.stats();
    // The byte accounting kept up by writes and compaction matches a recount from the volumes.
    assert.deepEqual(
      rebuilt.volumes.map((v) => [v.id, v.liveBytes, v.deadBytes, v.liveShards]),
      incremental.volumes.map((v) => [v.id, v.liveBytes, v.deadBytes, v.liveShards]),
    );
    for (const s of kept) assert.ok((await store.readShard(s.key)).equals(s.data));
    for (const s of deleted) assert.equal(await store.has(s.key), false, 'deleted shard resurrected');
    assert.equal((await store.stats()).shardCount, kept.length);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('compaction runs while writes, deletes and reads go on', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({
      path: dir.path,
      volumeSizeBytes: 128 * 1024,
      compactionGarbageRatio: 0.2,
    });
    const shards = await fillStore(store, 30, 10_000);
    for (const s of shards.slice(0, 15)) await store.delete(s.key);
    const live = new Map(shards.slice(15).map((s) => [Buffer.from(s.key.versionId).toString('hex'), s]));
    const churn = (async () => {
      for (let i = 0; i < 30; i++) {
        const s = shards[15 + (i % 15)]!;
        if (i % 2 === 0) {
          s.data = makeData(9000 + i, 500 + i);
          await store.put(s.key, meta, toSegments(s.data));
        } else {
          assert.ok((await store.readShard(s.key)).equals(s.data));
        }
      }
    })();
    await Promise.all([store.compact(), churn]);
    await store.compact();
    for (const s of live.values()) assert.ok((await store.readShard(s.key)).equals(s.data));
    for (const s of shards.slice(0, 15)) assert.equal(await store.has(s.key), false);
    assert.equal((await store.scrub()).corruptShards.length, 0);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('after a simulated power loss (last commit zeroed on disk, index intact) the store rebuilds', async () => {
  const dir = await tempDir();
  try {
    let store = await ShardStore.open({ path: dir.path });
    const shards = await fillStore(store, 3, 50_000);
    const last = randomKey(77);
    await store.put(last, meta, toSegments(makeData(80_000, 3)));
    const entry = await store.lookup(Buffer.concat([last.versionId, Buffer.from([0, 0, 0, 77, 0])]));
    assert.ok(entry);
    await store.close();
    const fh = await open(join(dir.path, 'volumes', '00000001.vol'), 'r+');
    await fh.write(Buffer.alloc(entry.length), 0, entry.length, entry.offset);
    await fh.close();
    store = await ShardStore.open({ path: dir.path });
    assert.match(store.openReport.rebuilt?.reason ?? '', /did not reach the disk intact/);
    assert.equal(await store.has(last), false);
    for (const s of shards) assert.ok((await store.readShard(s.key)).equals(s.data));
    assert.equal((await store.scrub()).damagedRegions.length, 0);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('compaction leaves a volume with a damaged record header alone (its shards stay where healing finds them)', async () => {
  const dir = await tempDir();
  try {
    const opts = { path: dir.path, volumeSizeBytes: 64 * 1024, compactionGarbageRatio: 0.1 };
    let store = await ShardStore.open(opts);
    const shards = await fillStore(store, 6, 20_000);
    for (const s of shards.slice(0, 2)) await store.delete(s.key);
    const victim = shards[2]!;
    const entry = await store.lookup(Buffer.concat([victim.key.versionId, Buffer.from([0, 0, 0, 2, 0])]));
    assert.ok(entry);
    await store.close();
    const fh = await open(
      join(dir.path, 'volumes', `${entry.volume.toString(16).padStart(8, '0')}.vol`),
      'r+',
    );
    await fh.write(Buffer.from([0xff, 0xff]), 0, 2, entry.offset + 20); // inside the record header
    await fh.close();
    store = await ShardStore.open(opts);
    const results = await store.compact();
    const skipped = results.find((r) => r.volume === entry.volume);
    assert.ok(skipped?.skipped, JSON.stringify(results));
    // The victim's payload is intact and the index still finds it; everything else survives too.
    for (const s of shards.slice(2)) assert.ok((await store.readShard(s.key)).equals(s.data));
    const scrub = await store.scrub();
    assert.equal(scrub.damagedRegions.length, 1);
    assert.deepEqual(
      scrub.corruptShards.map((c) => Buffer.from(c.key.versionId).toString('hex')),
      [Buffer.from(victim.key.versionId).toString('hex')],
    );
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('compaction never takes a volume that a commit in flight is still writing into', async () => {
  // A group commit places its first record at the end of the active volume and rolls over for the second.
  // While that commit's index batch is still pending, a compaction looks for sealed volumes with garbage: the
  // volume the commit is leaving must not be one of them yet (its new record is not indexed, and the scan
  // would stop before it: the swap would then delete the only copy of an acknowledged shard).
  const dir = await tempDir();
  try {
    const opts = { path: dir.path, volumeSizeBytes: 48 * 1024, compactionGarbageRatio: 0.1 };
    let store = await ShardStore.open(opts);
    const shards = new Map<ShardKey, Buffer>();
    const put = async (key: ShardKey, seed: number): Promise<void> => {
      const data = makeData(9_000, seed);
      await store.put(key, meta, toSegments(data));
      shards.set(key, data);
    };
    const overwritten = randomKey(1);
    await put(overwritten, 1);
    await put(overwritten, 2); // the first record becomes garbage: the volume qualifies for compaction
    await put(randomKey(2), 3);
    await put(randomKey(3), 4);

    const index = (store as unknown as { db: { batch: (...args: unknown[]) => Promise<void> } }).db;
    const batch = index.batch.bind(index);
    let compaction: Promise<unknown> | null = null;
    index.batch = async (...args: unknown[]): Promise<void> => {
      if (compaction === null) {
        compaction = store.compact();
        for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      }
      await batch(...args);
    };
    const last = randomKey(4);
    const rolledOver = randomKey(5);
    await Promise.all([put(last, 5), put(rolledOver, 6)]);
    index.batch = batch;
    assert.ok(compaction !== null, 'the commit wrote its index batch');
    await compaction;
    const check = async (): Promise<void> => {
      for (const [key, data] of shards) assert.ok((await store.readShard(key)).equals(data));
    };
    await check();
    await put(last, 7); // overwriting marks the old record dead in the volume it was written to
    await store.compact();
    await check();
    await store.close();
    store = await ShardStore.open(opts);
    await check();
    assert.equal((await store.scrub()).corruptShards.length, 0);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});
