import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { appendWithEarlyWriteBack, splitIntoPieces } from '../../../appliance/store/volume-writer.ts';
import { DiskFullError } from '../../../appliance/store/index.ts';
import { makeData, tempDir } from './helpers.ts';

const KiB = 1024;

function buffersOf(sizes: number[]): Buffer[] {
  return sizes.map((n, i) => Buffer.alloc(n, i));
}

test('splitIntoPieces: pieces grow (first >= pieceBytes, each later >= all before), order and bytes kept', () => {
  const buffers = buffersOf(Array.from({ length: 128 }, () => 64 * KiB)); // 8 MiB of segments
  const pieces = splitIntoPieces(buffers, 1024 * KiB);
  assert.deepEqual(
    pieces.map((p) => p.bytes / KiB),
    [1024, 1024, 2048, 4096],
  );
  assert.deepEqual(
    pieces.flatMap((p) => p.buffers),
    buffers,
  );
  for (const p of pieces)
    assert.equal(
      p.bytes,
      p.buffers.reduce((n, b) => n + b.byteLength, 0),
    );
});

test('splitIntoPieces: 0 turns splitting off except the 512-buffer cap; odd sizes and empty input', () => {
  const many = buffersOf(Array.from({ length: 1100 }, () => 10));
  assert.deepEqual(
    splitIntoPieces(many, 0).map((p) => p.buffers.length),
    [512, 512, 76],
  );
  assert.deepEqual(splitIntoPieces([], 4096), []);
  const odd = buffersOf([64, 16, 5000, 3, 70_000, 1]);
  const pieces = splitIntoPieces(odd, 4096);
  assert.deepEqual(
    pieces.map((p) => p.bytes),
    [5080, 70_003, 1],
  );
});

test('appendWithEarlyWriteBack writes every byte in place and syncs early only for multi-piece writes', async () => {
  const dir = await tempDir();
  try {
    const path = join(dir.path, 'v');
    const fh = await open(path, 'w+');
    let syncs = 0;
    const counting = new Proxy(fh, {
      get(target, prop, receiver): unknown {
        if (prop === 'datasync')
          return async () => {
            syncs++;
            await target.datasync();
          };
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const data = makeData(3 * 1024 * KiB + 123, 9);
    const buffers: Buffer[] = [];
    for (let at = 0; at < data.byteLength; at += 64 * KiB) buffers.push(data.subarray(at, at + 64 * KiB));
    await fh.write(Buffer.from('head'), 0, 4, 0);
    const { earlySyncs } = await appendWithEarlyWriteBack(counting, buffers, 4, data.byteLength, {
      pieceBytes: 512 * KiB,
    });
    await earlySyncs;
    assert.ok(syncs >= 1, 'an early sync started');
    syncs = 0;
    const one = await appendWithEarlyWriteBack(counting, [Buffer.from('tail')], 4 + data.byteLength, 4, {
      pieceBytes: 512 * KiB,
    });
    await one.earlySyncs;
    assert.equal(syncs, 0, 'a single piece leaves syncing to the commit');
    await fh.close();
    assert.ok((await readFile(path)).equals(Buffer.concat([Buffer.from('head'), data, Buffer.from('tail')])));
  } finally {
    await dir.cleanup();
  }
});

test('a failed early sync fails the append even when later syncs would succeed', async () => {
  let calls = 0;
  const fake = {
    writev: async (buffers: Buffer[]) => ({ bytesWritten: buffers.reduce((n, b) => n + b.byteLength, 0) }),
    datasync: async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    },
  } as unknown as FileHandle;
  const buffers = buffersOf(Array.from({ length: 64 }, () => 64 * KiB));
  const { earlySyncs } = await appendWithEarlyWriteBack(fake, buffers, 0, 64 * 64 * KiB, {
    pieceBytes: 256 * KiB,
  });
  await assert.rejects(earlySyncs, /EIO/);
});

test('a short write is a DiskFullError, raised only after any early sync settled', async () => {
  let syncing = 0;
  let writes = 0;
  const fake = {
    writev: async (buffers: Buffer[]) => {
      writes++;
      const want = buffers.reduce((n, b) => n + b.byteLength, 0);
      return { bytesWritten: writes === 1 ? want : want - 1 };
    },
    datasync: async () => {
      syncing++;
      await new Promise((resolve) => setImmediate(resolve));
      syncing--;
    },
  } as unknown as FileHandle;
  const buffers = buffersOf(Array.from({ length: 16 }, () => 64 * KiB));
  await assert.rejects(
    appendWithEarlyWriteBack(fake, buffers, 0, 16 * 64 * KiB, { pieceBytes: 256 * KiB }),
    DiskFullError,
  );
  assert.equal(syncing, 0);
});
