import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fsm } from '../../../appliance/s3db/fsm.ts';
import {
  decodeSnapshotRef,
  encodeSnapshotRef,
  fileCrc,
  snapshotPath,
} from '../../../appliance/s3db/snapshot-file.ts';

test('snapshot files: same bytes as the inline snapshot, records larger than a read block, restore from file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3db-snapfile-'));
  try {
    const fsm = await Fsm.open(join(dir, 'a'));
    const big = new Uint8Array(600 * 1024).map((_, i) => i % 251);
    await fsm.apply([
      { index: 1, commands: [{ type: 'put', table: 't', key: new Uint8Array([1]), value: big }] },
      {
        index: 2,
        time: 5000,
        commands: Array.from({ length: 300 }, (_, i) => ({
          type: 'put' as const,
          table: 'u',
          key: new Uint8Array(Buffer.from(`key-${i}`)),
          value: new Uint8Array(100).fill(i % 256),
          session: { client: new Uint8Array([9]), seq: i + 1 },
        })),
      },
    ]);
    const ref = await fsm.snapshotToFile(dir);
    const inline = await fsm.snapshot();
    const file = await readFile(snapshotPath(dir, ref.index));
    assert.equal(ref.index, 2);
    assert.deepEqual(new Uint8Array(file), inline.data, 'file = inline snapshot bytes');
    assert.deepEqual(await fileCrc(snapshotPath(dir, 2)), { size: ref.size, crc: ref.crc });
    assert.deepEqual(decodeSnapshotRef(encodeSnapshotRef(ref)), ref);
    assert.equal(decodeSnapshotRef(inline.data), undefined, 'inline data is not a reference');
    await fsm.close();

    const other = await Fsm.open(join(dir, 'b'));
    assert.equal(await other.restore(snapshotPath(dir, 2)), 2);
    assert.deepEqual((await other.get('t', new Uint8Array([1])))?.value, big);
    assert.equal((await other.scan({ table: 'u', limit: 1000 })).items.length, 300);
    assert.equal(other.sessions.check({ client: new Uint8Array([9]), seq: 300 }).kind, 'duplicate');
    assert.equal(other.sessions.clock, 5000);
    await other.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
