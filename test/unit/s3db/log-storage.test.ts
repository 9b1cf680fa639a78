import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RaftLogStorage } from '../../../appliance/s3db/log-storage.ts';
import type { Entry } from '../../../appliance/s3db/raft/types.ts';

const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new Uint8Array(Buffer.from(text)),
});

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 's3db-log-'));
}

test('entries, hard state, conflicting suffix overwrite and snapshot compaction survive reopen', async () => {
  const dir = await tempDir();
  try {
    let s = await RaftLogStorage.open(dir);
    assert.deepEqual(await s.load(), { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] });
    await s.save({
      entries: [1, 2, 3, 4].map((i) => entry(i, 1)),
      hardState: { term: 1, vote: 2, commit: 2 },
      sync: true,
    });
    await s.save({ entries: [entry(3, 2, 'x'), entry(4, 2, 'y'), entry(5, 2)], sync: true });
    await s.save({ entries: [entry(5, 3, 'z')], hardState: { term: 3, vote: 0, commit: 4 }, sync: true });
    await s.close();
    s = await RaftLogStorage.open(dir);
    let st = await s.load();
    assert.deepEqual(st.hardState, { term: 3, vote: 0, commit: 4 });
    assert.deepEqual(
      st.entries.map((e) => [e.index, e.term, Buffer.from(e.data).toString()]),
      [
        [1, 1, 'e1'],
        [2, 1, 'e2'],
        [3, 2, 'x'],
        [4, 2, 'y'],
        [5, 3, 'z'],
      ],
    );
    await s.compact({ metadata: { index: 3, term: 2, voters: [1, 2, 3] }, data: new Uint8Array([9]) });
    assert.equal(s.firstIndex, 4);
    await assert.rejects(s.save({ entries: [entry(2, 3)], sync: true }), /entries start at 2/);
    await s.close();
    s = await RaftLogStorage.open(dir);
    st = await s.load();
    assert.deepEqual(st.snapshot, {
      metadata: { index: 3, term: 2, voters: [1, 2, 3] },
      data: new Uint8Array([9]),
    });
    assert.deepEqual(
      st.entries.map((e) => e.index),
      [4, 5],
    );
    // A snapshot received from a leader replaces the whole log.
    await s.save({
      snapshot: { metadata: { index: 10, term: 4, voters: [1] }, data: new Uint8Array() },
      entries: [entry(11, 4)],
      sync: false,
    });
    await s.close();
    s = await RaftLogStorage.open(dir);
    st = await s.load();
    assert.equal(st.snapshot?.metadata.index, 10);
    assert.deepEqual(
      st.entries.map((e) => e.index),
      [11],
    );
    await s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const WRITER = `
import { RaftLogStorage } from ${JSON.stringify(new URL('../../../appliance/s3db/log-storage.ts', import.meta.url).href)};
const s = await RaftLogStorage.open(process.argv[1]);
await s.load();
for (let i = 1; i < 1_000_000; i += 5) {
  const entries = [0, 1, 2, 3, 4].map((k) => ({ index: i + k, term: 1, type: 'normal', data: new Uint8Array(200).fill(k) }));
  await s.save({ entries, hardState: { term: 1, vote: 1, commit: i + 4 }, sync: true });
  process.stdout.write((i + 4) + '\\n');
}
`;

test('kill -9 while appending loses no synced entry; a torn WAL tail leaves a contiguous prefix', async () => {
  const dir = await tempDir();
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', WRITER, join(dir, 'log')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let acked = 0;
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve) => {
      lines.on('line', (line) => {
        acked = Number(line);
        if (acked >= 400) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    let s = await RaftLogStorage.open(join(dir, 'log'));
    let st = await s.load();
    assert.ok(st.entries.length >= acked, `acknowledged ${acked}, found ${st.entries.length}`);
    assert.ok(st.hardState.commit >= acked);
    st.entries.forEach((e, i) => assert.equal(e.index, i + 1));
    await s.close();
    // Tear the tail of the newest LevelDB write-ahead log, as a crash in the middle of a write would.
    const logs = (await readdir(join(dir, 'log'))).filter((f) => f.endsWith('.log'));
    for (const f of logs) {
      const size = (await stat(join(dir, 'log', f))).size;
      if (size > 100) await truncate(join(dir, 'log', f), size - 37);
    }
    s = await RaftLogStorage.open(join(dir, 'log'));
    st = await s.load();
    st.entries.forEach((e, i) => assert.equal(e.index, i + 1));
    assert.ok(st.entries.every((e) => e.data.length === 200));
    await s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
