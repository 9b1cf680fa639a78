import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidArgumentError,
  SegmentTooLargeError,
  ShardNotFoundError,
  ShardStore,
  StoreClosedError,
} from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { makeData, randomKey, tempDir, toSegments } from './helpers.ts';

const meta = { rsData: 3, rsParity: 2 };

for (const compression of ['none', 'lz4'] as const) {
  test(`round trip of many shards of random sizes (${compression}), across volume rollover and reopen`, async () => {
    const dir = await tempDir();
    try {
      let store = await ShardStore.open({ path: dir.path, compression, volumeSizeBytes: 1024 * 1024 });
      const shards: Array<{ key: ShardKey; data: Buffer }> = [];
      let seed = 7;
      const sizes = [0, 1, 100, 65535, 65536, 65537, 200_000, 300_001];
      for (let i = 0; i < 40; i++) {
        const size = sizes[i % sizes.length]! + ((seed = (seed * 1103515245 + 12345) >>> 0) % 3000);
        shards.push({ key: randomKey(i, i % 5), data: makeData(size, seed, i % 2 === 0) });
      }
      const results = await Promise.all(shards.map((s) => store.put(s.key, meta, toSegments(s.data))));
      results.forEach((r, i) => {
        const size = shards[i]!.data.byteLength;
        assert.equal(r.bytes, size);
        // A record is a 64-byte header, 16 bytes per segment and the payload. LZ4 must shrink the
        // compressible shards (even i) and store the random ones as they are.
        const raw = 64 + 16 * r.segments + size;
        if (compression === 'lz4' && i % 2 === 0) {
          assert.ok(r.storedBytes <= raw, `shard ${i}`);
          if (size >= 65536)
            assert.ok(r.storedBytes < size, `shard ${i}: ${r.storedBytes} stored for ${size}`);
        } else assert.equal(r.storedBytes, raw, `shard ${i}`);
      });
      for (const s of shards) assert.ok((await store.readShard(s.key)).equals(s.data));
      const stats = await store.stats();
      assert.equal(stats.shardCount, shards.length);
      assert.ok(stats.volumes.length > 1, 'volumes rolled over');
      await store.close();
      store = await ShardStore.open({ path: dir.path, compression });
      assert.equal(store.openReport.rebuilt, undefined);
      for (const s of shards) assert.ok((await store.readShard(s.key)).equals(s.data));
      await store.close();
    } finally {
      await dir.cleanup();
    }
  });
}

test('partial segment reads return exactly the asked segments', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path, compression: 'lz4' });
    const key = randomKey();
    const data = makeData(10 * 65536 + 1234, 99, true);
    const segments = toSegments(data);
    await store.put(key, meta, segments);
    for (const [first, count] of [
      [0, 1],
      [3, 4],
      [10, 1],
      [0, 11],
      [5, 0],
    ] as const) {
      const got = await store.readSegments(key, first, count);
      assert.equal(got.length, count);
      got.forEach((seg, i) => assert.ok(Buffer.from(segments[first + i]!).equals(seg)));
    }
    await assert.rejects(store.readSegments(key, 10, 2), InvalidArgumentError);
    await assert.rejects(store.readSegments(key, -1, 1), InvalidArgumentError);
    const stat = await store.stat(key);
    assert.deepEqual(stat?.segmentLengths, [...Array(10).fill(65536), 1234]);
    assert.equal(stat?.rsData, 3);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('segments may stream in from an async iterable', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path });
    const key = randomKey();
    const data = makeData(5 * 65536, 3);
    async function* stream(): AsyncGenerator<Uint8Array> {
      for (const seg of toSegments(data)) {
        await new Promise((r) => setImmediate(r));
        yield seg;
      }
    }
    assert.deepEqual(await store.put(key, meta, stream()), {
      bytes: data.byteLength,
      segments: 5,
      storedBytes: 64 + 80 + data.byteLength,
    });
    assert.ok((await store.readShard(key)).equals(data));
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('re-put replaces (last write wins); delete hides; missing shard is a typed error', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path });
    const key = randomKey(4, 2);
    await store.put(key, meta, [Buffer.from('first')]);
    await store.put(key, meta, [Buffer.from('second')]);
    assert.equal((await store.readShard(key)).toString(), 'second');
    assert.equal(await store.delete(key), true);
    assert.equal(await store.delete(key), false);
    assert.equal(await store.has(key), false);
    assert.equal(await store.stat(key), null);
    const err = await store.readShard(key).catch((e: unknown) => e);
    assert.ok(err instanceof ShardNotFoundError);
    assert.equal(err.code, 'SHARD_NOT_FOUND');
    await store.put(key, meta, [Buffer.from('third')]);
    assert.equal((await store.readShard(key)).toString(), 'third');
    const stats = await store.stats();
    assert.equal(stats.shardCount, 1);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('bad input is rejected with typed errors and writes nothing', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path });
    await assert.rejects(store.put(randomKey(), meta, [Buffer.alloc(65537)]), SegmentTooLargeError);
    await assert.rejects(
      store.put({ versionId: Buffer.alloc(15), chunkIndex: 0, shardIndex: 0 }, meta, []),
      (e: { code?: string }) => e.code === 'INVALID_SHARD_KEY',
    );
    await assert.rejects(
      store.put(randomKey(0, 256), meta, []),
      (e: { code?: string }) => e.code === 'INVALID_SHARD_KEY',
    );
    await assert.rejects(store.put(randomKey(), { rsData: -1, rsParity: 1 }, []), InvalidArgumentError);
    await assert.rejects(store.list({ limit: 0 }), InvalidArgumentError);
    assert.equal((await store.stats()).shardCount, 0);
    await store.close();
    await assert.rejects(store.put(randomKey(), meta, []), StoreClosedError);
  } finally {
    await dir.cleanup();
  }
});

test('list pages through keys in order', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path });
    const keys = Array.from({ length: 25 }, (_, i) => randomKey(i % 4, i % 3));
    await Promise.all(keys.map((k) => store.put(k, meta, [Buffer.from([1])])));
    const seen: ShardKey[] = [];
    let after: ShardKey | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await store.list({ limit: 7, ...(after ? { after } : {}) });
      seen.push(...res.keys);
      if (!res.next) break;
      after = res.next;
    }
    assert.equal(seen.length, 25);
    const hex = (k: ShardKey): string =>
      Buffer.from(k.versionId).toString('hex') +
      k.chunkIndex.toString(16).padStart(8, '0') +
      k.shardIndex.toString(16).padStart(2, '0');
    const sorted = keys.map(hex).sort();
    assert.deepEqual(seen.map(hex), sorted);
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('concurrent puts share group commits', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path });
    const keys = Array.from({ length: 64 }, (_, i) => randomKey(i));
    await Promise.all(keys.map((k, i) => store.put(k, meta, [makeData(4096, i + 1)])));
    const stats = await store.stats();
    assert.equal(stats.committedRecords, 64);
    assert.ok(stats.commits <= 4, `64 concurrent puts took ${stats.commits} commits`);
    for (const [i, k] of keys.entries()) assert.ok((await store.readShard(k)).equals(makeData(4096, i + 1)));
    await store.close();
  } finally {
    await dir.cleanup();
  }
});

test('a segment may be given as the parts it arrived in; the store joins them and copies them', async () => {
  const dir = await tempDir();
  try {
    const store = await ShardStore.open({ path: dir.path, compression: 'lz4' });
    const key = randomKey();
    const data = makeData(3 * 65536 + 500, 5, true);
    const segments = toSegments(data).map((s, i) =>
      i % 2 === 0 ? [s.subarray(0, 1000), s.subarray(1000, 1000), s.subarray(1000)] : s,
    );
    const result = await store.put(key, meta, segments);
    assert.equal(result.bytes, data.byteLength);
    assert.equal(result.segments, 4);
    data.fill(0); // the store kept its own copy
    assert.ok((await store.readShard(key)).equals(makeData(3 * 65536 + 500, 5, true)));
    await assert.rejects(
      store.put(randomKey(), meta, [[new Uint8Array(40_000), new Uint8Array(40_000)]]),
      SegmentTooLargeError,
    );
    await assert.rejects(
      store.put(randomKey(), meta, [['not bytes'] as unknown as Uint8Array[]]),
      InvalidArgumentError,
    );
    await store.close();
  } finally {
    await dir.cleanup();
  }
});
