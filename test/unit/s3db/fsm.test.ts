import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fsm } from '../../../appliance/s3db/fsm.ts';
import type { Command } from '../../../appliance/s3db/command.ts';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const one = (command: Command): Command[] => [command];
const put = (key: string, value: string): Command => ({
  type: 'put',
  table: 't',
  key: b(key),
  value: b(value),
});

async function withFsm(fn: (fsm: Fsm, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 's3db-fsm-'));
  const fsm = await Fsm.open(join(dir, 'fsm'));
  try {
    await fn(fsm, dir);
  } finally {
    await fsm.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

test('put, get, delete with versions = raft index; replayed entries are skipped', async () => {
  await withFsm(async (fsm, dir) => {
    const res = await fsm.apply([
      { index: 1 },
      {
        index: 2,
        commands: one({ type: 'put', table: 'objects', key: new Uint8Array([0, 1, 0xff]), value: b('v1') }),
      },
      { index: 3, commands: one({ type: 'delete', table: 'objects', key: b('missing') }) },
    ]);
    assert.deepEqual(res, [undefined, [{ type: 'put', version: 2 }], [{ type: 'delete', deleted: false }]]);
    assert.deepEqual(await fsm.get('objects', new Uint8Array([0, 1, 0xff])), { value: b('v1'), version: 2 });
    assert.equal(await fsm.get('buckets', new Uint8Array([0, 1, 0xff])), undefined, 'tables are separate');
    const replay = await fsm.apply([
      { index: 2, commands: one({ type: 'delete', table: 'objects', key: new Uint8Array([0, 1, 0xff]) }) },
    ]);
    assert.deepEqual(replay, [undefined]);
    assert.equal(fsm.appliedIndex, 3);
    await fsm.close();
    const again = await Fsm.open(join(dir, 'fsm'));
    assert.equal(again.appliedIndex, 3, 'applied index survives reopen');
    await again.apply([
      { index: 4, commands: one({ type: 'delete', table: 'objects', key: new Uint8Array([0, 1, 0xff]) }) },
    ]);
    assert.equal(await again.get('objects', new Uint8Array([0, 1, 0xff])), undefined);
    await again.close();
  });
});

test('atomic batch: preconditions see earlier entries of the same apply, failure writes nothing', async () => {
  await withFsm(async (fsm) => {
    const res = await fsm.apply([
      { index: 1, commands: one({ type: 'put', table: 't', key: b('a'), value: b('1') }) },
      {
        index: 2,
        commands: one({
          type: 'batch',
          preconditions: [
            { kind: 'valueEquals', table: 't', key: b('a'), value: b('1') },
            { kind: 'absent', table: 't', key: b('b') },
            { kind: 'versionEquals', table: 't', key: b('a'), version: 1 },
          ],
          ops: [
            { kind: 'put', table: 't', key: b('b'), value: b('2') },
            { kind: 'delete', table: 't', key: b('a') },
          ],
        }),
      },
      {
        index: 3,
        commands: one({
          type: 'batch',
          preconditions: [{ kind: 'absent', table: 't', key: b('b') }],
          ops: [{ kind: 'put', table: 't', key: b('c'), value: b('3') }],
        }),
      },
      {
        index: 4,
        commands: one({
          type: 'batch',
          preconditions: [
            { kind: 'versionEquals', table: 't', key: b('a'), version: 0 },
            { kind: 'exists', table: 't', key: b('b') },
          ],
          ops: [{ kind: 'put', table: 't', key: b('a'), value: b('again') }],
        }),
      },
    ]);
    assert.deepEqual(res[1]?.[0], { type: 'batch', ok: true, version: 2 });
    assert.deepEqual(res[2]?.[0], { type: 'batch', ok: false, failed: 0, reason: 'key exists' });
    assert.deepEqual(res[3]?.[0], { type: 'batch', ok: true, version: 4 });
    assert.equal(await fsm.get('t', b('c')), undefined);
    assert.deepEqual(await fsm.get('t', b('b')), { value: b('2'), version: 2 });
    assert.deepEqual(await fsm.get('t', b('a')), { value: b('again'), version: 4 });
  });
});

test('scan: raw byte order, prefix, startAfter continuation, limit, table isolation', async () => {
  await withFsm(async (fsm) => {
    const keys = [[0x61, 0xff], [0x61], [0x61, 0x00], [0x62], [0xff, 0xff], [0x60, 0x01]].map(
      (k) => new Uint8Array(k),
    );
    let i = 0;
    await fsm.apply(
      keys.map((key) => ({ index: ++i, commands: one({ type: 'put', table: 'x', key, value: key }) })),
    );
    await fsm.apply([
      { index: ++i, commands: one({ type: 'put', table: 'x2', key: b('a'), value: b('other') }) },
    ]);
    const all = await fsm.scan({ table: 'x' });
    assert.deepEqual(
      all.items.map((it) => Buffer.from(it.key).toString('hex')),
      ['6001', '61', '6100', '61ff', '62', 'ffff'],
    );
    assert.equal(all.truncated, false);
    const pref = await fsm.scan({ table: 'x', prefix: new Uint8Array([0x61]) });
    assert.deepEqual(
      pref.items.map((it) => Buffer.from(it.key).toString('hex')),
      ['61', '6100', '61ff'],
    );
    const page1 = await fsm.scan({ table: 'x', limit: 2 });
    assert.equal(page1.truncated, true);
    const page2 = await fsm.scan({ table: 'x', limit: 10, startAfter: page1.items[1]!.key });
    assert.deepEqual(
      page2.items.map((it) => Buffer.from(it.key).toString('hex')),
      ['6100', '61ff', '62', 'ffff'],
    );
    const ff = await fsm.scan({ table: 'x', prefix: new Uint8Array([0xff]) });
    assert.equal(ff.items.length, 1);
    await assert.rejects(fsm.scan({ table: 'x', limit: 0 }), /limit/);
  });
});

test('snapshot restores the exact state and applied index into another FSM', async () => {
  await withFsm(async (fsm, dir) => {
    await fsm.apply([
      { index: 5, commands: one({ type: 'put', table: 't', key: b('k1'), value: b('v1') }) },
      {
        index: 6,
        commands: one({ type: 'put', table: 'u', key: new Uint8Array([0]), value: new Uint8Array() }),
      },
    ]);
    const snap = await fsm.snapshot();
    assert.equal(snap.index, 6);
    const other = await Fsm.open(join(dir, 'other'));
    await other.apply([
      { index: 1, commands: one({ type: 'put', table: 't', key: b('stale'), value: b('x') }) },
    ]);
    assert.equal(await other.restore(snap.data), 6);
    assert.equal(other.appliedIndex, 6);
    assert.equal(await other.get('t', b('stale')), undefined);
    assert.deepEqual(await other.get('t', b('k1')), { value: b('v1'), version: 5 });
    assert.deepEqual(await other.get('u', new Uint8Array([0])), { value: new Uint8Array(), version: 6 });
    await other.close();
  });
});

test('several commands in one entry apply in order with their own results and the entry index as version', async () => {
  await withFsm(async (fsm) => {
    const res = await fsm.apply([
      {
        index: 7,
        commands: [
          { type: 'put', table: 't', key: b('k'), value: b('1') },
          {
            type: 'batch',
            preconditions: [{ kind: 'valueEquals', table: 't', key: b('k'), value: b('1') }],
            ops: [{ kind: 'put', table: 't', key: b('k'), value: b('2') }],
          },
          {
            type: 'batch',
            preconditions: [{ kind: 'absent', table: 't', key: b('k') }],
            ops: [{ kind: 'delete', table: 't', key: b('k') }],
          },
          { type: 'delete', table: 't', key: b('k') },
        ],
      },
    ]);
    assert.deepEqual(res, [
      [
        { type: 'put', version: 7 },
        { type: 'batch', ok: true, version: 7 },
        { type: 'batch', ok: false, failed: 0, reason: 'key exists' },
        { type: 'delete', deleted: true },
      ],
    ]);
    assert.equal(await fsm.get('t', b('k')), undefined);
  });
});

test('pipelined applies: preconditions read stored keys (one prefetch), keys still in flight, and keys written earlier in the group', async () => {
  await withFsm(async (fsm) => {
    await fsm.apply([{ index: 1, commands: [put('stored', 'a'), put('gone', 'x')] }]);
    // Issued but not awaited: 'flying' is only in the in-flight overlay when the next apply prefetches.
    const first = await fsm.applyPipelined([
      { index: 2, commands: [put('flying', 'f'), { type: 'delete', table: 't', key: b('gone') }] },
    ]);
    const second = await fsm.applyPipelined([
      {
        index: 3,
        commands: [
          {
            type: 'batch',
            preconditions: [
              { kind: 'valueEquals', table: 't', key: b('stored'), value: b('a') },
              { kind: 'versionEquals', table: 't', key: b('flying'), version: 2 },
              { kind: 'absent', table: 't', key: b('gone') },
              { kind: 'absent', table: 't', key: b('fresh') },
            ],
            ops: [{ kind: 'put', table: 't', key: b('fresh'), value: b('n') }],
          },
          // Sees the put of the command before it (same group), so its precondition fails.
          {
            type: 'batch',
            preconditions: [{ kind: 'absent', table: 't', key: b('fresh') }],
            ops: [{ kind: 'put', table: 't', key: b('fresh'), value: b('m') }],
          },
          { type: 'delete', table: 't', key: b('stored') },
          { type: 'delete', table: 't', key: b('stored') },
        ],
      },
    ]);
    assert.deepEqual(first.results, [
      [
        { type: 'put', version: 2 },
        { type: 'delete', deleted: true },
      ],
    ]);
    assert.deepEqual(second.results, [
      [
        { type: 'batch', ok: true, version: 3 },
        { type: 'batch', ok: false, failed: 0, reason: 'key exists' },
        { type: 'delete', deleted: true },
        { type: 'delete', deleted: false },
      ],
    ]);
    await Promise.all([first.landed, second.landed]);
    assert.equal(fsm.appliedIndex, 3);
    assert.deepEqual(await fsm.get('t', b('fresh')), { value: b('n'), version: 3 });
    assert.equal(await fsm.get('t', b('stored')), undefined);
    assert.equal(await fsm.get('t', b('gone')), undefined);
  });
});

test('applied changes are written together after a short delay; reads land them first', async () => {
  await withFsm(async (fsm) => {
    await fsm.apply([{ index: 1, commands: [put('k', 'v1')] }]);
    const a = await fsm.applyPipelined([{ index: 2, commands: [put('k', 'v2')] }]);
    const c = await fsm.applyPipelined([{ index: 3, commands: [put('other', 'o')] }]);
    assert.equal(fsm.appliedIndex, 1, 'nothing written yet');
    assert.ok(fsm.writesPending);
    await a.landed;
    assert.equal(fsm.appliedIndex, 3, 'both applies landed in one write');
    assert.equal(fsm.writesPending, false);
    await c.landed;
    // A read of the stored state lands what was applied before it, without waiting for the delay.
    await fsm.applyPipelined([{ index: 4, commands: [put('k', 'v4')] }]);
    assert.deepEqual(await fsm.get('t', b('k')), { value: b('v4'), version: 4 });
    assert.equal(fsm.appliedIndex, 4);
    await fsm.applyPipelined([{ index: 5, commands: [put('s', 'x')] }]);
    const page = await fsm.scan({ table: 't' });
    assert.deepEqual(
      page.items.map((i) => Buffer.from(i.key).toString()),
      ['k', 'other', 's'],
    );
    // flushWrites issues the write at once.
    const d = await fsm.applyPipelined([{ index: 6, commands: [put('d', 'y')] }]);
    fsm.flushWrites();
    await d.landed;
    assert.equal(fsm.appliedIndex, 6);
  });
});

test('queued changes are written on close and survive a reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsm-close-'));
  try {
    const fsm = await Fsm.open(dir);
    await fsm.applyPipelined([
      { index: 1, commands: [{ type: 'put', table: 't', key: b('k'), value: b('v') }] },
    ]);
    await fsm.close();
    const again = await Fsm.open(dir);
    assert.equal(again.appliedIndex, 1);
    assert.deepEqual(await again.get('t', b('k')), { value: b('v'), version: 1 });
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
