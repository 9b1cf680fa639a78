import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorySyncer } from '../../../gateway/backend/filesystem/directory-syncer.ts';
import { KeyedMutex } from '../../../gateway/backend/filesystem/keyed-mutex.ts';
import { ensureDirectory, writeFileAtomic } from '../../../gateway/backend/filesystem/durable.ts';

describe('filesystem durability helpers', () => {
  it('DirectorySyncer coalesces concurrent syncs, survives a removed directory, and closes', async () => {
    const base = await mkdtemp(join(tmpdir(), 'predastore-sync-'));
    try {
      const syncer = new DirectorySyncer(2);
      const dirs = ['a', 'b', 'c'].map((name) => join(base, name));
      for (const dir of dirs) await mkdir(dir);
      await Promise.all(Array.from({ length: 60 }, (_, i) => syncer.sync(dirs[i % 3] as string)));
      await rm(dirs[0] as string, { recursive: true });
      await syncer.forget(dirs[0] as string);
      await assert.rejects(syncer.sync(dirs[0] as string), { code: 'ENOENT' });
      await mkdir(dirs[0] as string);
      await syncer.sync(dirs[0] as string);
      await syncer.close();
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('KeyedMutex runs sections for one name one at a time, in order, and releases on errors', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let inside = 0;
    const section = (name: string, i: number) =>
      mutex.run(name, async () => {
        inside++;
        assert.equal(inside, 1);
        log.push(`${name}${i}`);
        await new Promise((resolve) => setImmediate(resolve));
        inside--;
        if (i === 1) throw new Error('boom');
      });
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => section('x', i)));
    assert.deepEqual(log, ['x0', 'x1', 'x2', 'x3']);
    assert.equal(results[1]?.status, 'rejected');
    assert.equal(results[3]?.status, 'fulfilled');
  });

  it('writeFileAtomic leaves either nothing or the whole file; ensureDirectory creates nested folders', async () => {
    const base = await mkdtemp(join(tmpdir(), 'predastore-atomic-'));
    try {
      const nested = join(base, 'x', 'y', 'z');
      await ensureDirectory(nested);
      await ensureDirectory(nested);
      await writeFileAtomic(join(base, 'tmp-1'), join(nested, 'f'), 'first');
      await writeFileAtomic(join(base, 'tmp-2'), join(nested, 'f'), 'second');
      assert.equal(await readFile(join(nested, 'f'), 'utf8'), 'second');
      assert.deepEqual((await readdir(base)).sort(), ['x']);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
