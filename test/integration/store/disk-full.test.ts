import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskFullError, ShardStore } from '../../../appliance/store/index.ts';
import type { ShardKey } from '../../../appliance/store/index.ts';
import { makeData, randomKey, toSegments } from '../../unit/store/helpers.ts';

const meta = { rsData: 2, rsParity: 1 };

/** Mounts a small tmpfs (needs root); returns null where that is not allowed. */
function mountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// 100 000-byte shards take the ordinary path; 600 000-byte ones the large-commit path (CRCs during the writes,
// early write-back in 64 KiB pieces), where ENOSPC can hit a piece after an early sync started.
for (const shardBytes of [100_000, 600_000]) {
  test(`a full disk is a DiskFullError and leaves existing shards intact (${shardBytes}-byte shards)`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'predastore-full-'));
    if (!mountTmpfs(dir, 4 * 1024 * 1024)) {
      await rmdir(dir);
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    try {
      const path = join(dir, 'store');
      const options = {
        path,
        volumeSizeBytes: 1024 * 1024,
        writeBackPieceBytes: 64 * 1024,
        writeBackMinCommitBytes: 0,
      };
      let store = await ShardStore.open(options);
      const stored: Array<{ key: ShardKey; data: Buffer }> = [];
      let full: unknown = null;
      for (let i = 0; i < 200 && full === null; i++) {
        const s = { key: randomKey(i), data: makeData(shardBytes, i + 1) };
        try {
          await store.put(s.key, meta, toSegments(s.data));
          stored.push(s);
        } catch (err) {
          full = err;
        }
      }
      assert.ok(full instanceof DiskFullError, `expected DiskFullError, got ${String(full)}`);
      assert.equal(full.code, 'DISK_FULL');
      assert.ok(stored.length > (shardBytes > 500_000 ? 2 : 5));
      for (const s of stored) assert.ok((await store.readShard(s.key)).equals(s.data));
      // Still full: another write fails the same way, and still nothing is lost.
      await assert.rejects(
        store.put(randomKey(999), meta, toSegments(makeData(shardBytes, 5))),
        DiskFullError,
      );
      await store.close().catch(() => undefined);
      store = await ShardStore.open(options);
      for (const s of stored) assert.ok((await store.readShard(s.key)).equals(s.data));
      assert.equal((await store.scrub()).corruptShards.length, 0);
      // Deleting and compacting frees room; small writes work again.
      for (const s of stored.slice(0, Math.floor(stored.length / 2))) await store.delete(s.key);
      await store.compact();
      const after = randomKey(1000);
      await store.put(after, meta, [Buffer.from('room again')]);
      assert.equal((await store.readShard(after)).toString(), 'room again');
      for (const s of stored.slice(Math.floor(stored.length / 2))) {
        assert.ok((await store.readShard(s.key)).equals(s.data));
      }
      await store.close();
    } finally {
      execFileSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('minFreeBytes refuses writes that would eat the reserve', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'predastore-reserve-'));
  try {
    const store = await ShardStore.open({ path: dir, minFreeBytes: Number.MAX_SAFE_INTEGER });
    await assert.rejects(store.put(randomKey(), meta, [Buffer.from('x')]), DiskFullError);
    assert.equal((await store.stats()).shardCount, 0);
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
