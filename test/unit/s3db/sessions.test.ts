import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteWriter } from '../../../appliance/s3db/bytes.ts';
import {
  decodeEntryPayload,
  decodeResult,
  encodeCommands,
  encodeResult,
} from '../../../appliance/s3db/command.ts';
import type { Command, CommandResult } from '../../../appliance/s3db/command.ts';
import { Fsm } from '../../../appliance/s3db/fsm.ts';
import { SESSION_SWEEP_MS, SessionTable } from '../../../appliance/s3db/sessions.ts';
import { parseSessionTag } from '../../../appliance/s3db/http/routes.ts';
import { S3dbError } from '../../../appliance/s3db/errors.ts';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const tag = (client: string, seq: number): { client: Uint8Array; seq: number } => ({
  client: b(client),
  seq,
});

async function withFsm(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 's3db-sessions-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('session table: new, duplicate (first result), stale', () => {
  const t = new SessionTable();
  assert.deepEqual(t.check(tag('a', 1)), { kind: 'new' });
  t.record(tag('a', 1), b('r1'), 10);
  assert.deepEqual(t.check(tag('a', 1)), { kind: 'duplicate', result: b('r1') });
  assert.deepEqual(t.check(tag('a', 5)), { kind: 'new' }, 'gaps are fine (requests refused before the log)');
  t.record(tag('a', 5), b('r5'), 11);
  assert.deepEqual(t.check(tag('a', 1)), { kind: 'stale', lastSeq: 5 });
  assert.deepEqual(t.check(tag('b', 1)), { kind: 'new' }, 'sessions are independent');
});

test('session expiry follows the replicated clock only, at sweep boundaries; eviction order is replica-independent', () => {
  const t = new SessionTable({ ttlMs: 60_000, maxSessions: 10 });
  t.advance(1_000_000);
  t.record(tag('old', 1), b('x'), 1);
  t.advance(1_000_000 + 30_000);
  t.record(tag('young', 1), b('y'), 2);
  t.advance(1_000_000 - 5_000); // a leader with a slower clock: time never goes backwards
  assert.equal(t.clock, 1_030_000);
  t.advance(1_000_000 + 60_000 + SESSION_SWEEP_MS);
  assert.equal(t.get(b('old')), undefined, 'idle past the ttl: forgotten');
  assert.ok(t.get(b('young')));
  const changes = t.takeChanges();
  assert.deepEqual(changes.deleted, [Buffer.from('old').toString('hex')]);
  assert.equal(changes.clock, 1_070_000);

  // Two replicas, one rebuilt from the other's persisted state, evict exactly the same sessions.
  const a = new SessionTable({ ttlMs: 60_000, maxSessions: 10 });
  for (let i = 0; i < 10; i++) a.record(tag(`c${i}`, 1), b('r'), 100 + (i % 3));
  const copy = new SessionTable({ ttlMs: 60_000, maxSessions: 10 });
  for (const [client, rec] of a.entries().reverse()) copy.load(client, rec);
  a.record(tag('new', 1), b('r'), 200);
  copy.record(tag('new', 1), b('r'), 200);
  assert.equal(a.size, 9);
  assert.deepEqual(a.entries(), copy.entries());
  assert.ok(a.get(b('new')), 'the newest session is kept');
});

test('entry payloads carry the leader time and session tags; format-2 entries still decode', () => {
  const cmds: Command[] = [
    { type: 'put', table: 't', key: b('k'), value: b('v'), session: tag('client-1', 7) },
    { type: 'delete', table: 't', key: b('k') },
  ];
  const decoded = decodeEntryPayload(encodeCommands(cmds, 1_700_000_000_123));
  assert.equal(decoded.time, 1_700_000_000_123);
  assert.deepEqual(decoded.commands, cmds);
  // An entry written by the previous format: [2][u32 n][put table key value].
  const old = new ByteWriter(64).u8(2).u32(1).u8(1).str('t').bytes(b('k')).bytes(b('v')).finish();
  assert.deepEqual(decodeEntryPayload(old), {
    time: 0,
    commands: [{ type: 'put', table: 't', key: b('k'), value: b('v') }],
  });
  const results: CommandResult[] = [
    { type: 'put', version: 9 },
    { type: 'delete', deleted: true },
    { type: 'batch', ok: true, version: 3 },
    { type: 'batch', ok: false, failed: 1, reason: 'key exists' },
    { type: 'stale', lastSeq: 4 },
  ];
  for (const r of results) assert.deepEqual(decodeResult(encodeResult(r)), r);
});

test('session headers: parsed together, malformed ones refused', () => {
  assert.equal(parseSessionTag({}), undefined);
  assert.deepEqual(parseSessionTag({ 'x-s3db-session': 'ab01', 'x-s3db-seq': '3' }), {
    client: new Uint8Array([0xab, 0x01]),
    seq: 3,
  });
  for (const bad of [
    { 'x-s3db-session': 'ab01' },
    { 'x-s3db-seq': '3' },
    { 'x-s3db-session': 'zz', 'x-s3db-seq': '3' },
    { 'x-s3db-session': 'ab', 'x-s3db-seq': '0' },
    { 'x-s3db-session': 'ab', 'x-s3db-seq': '-1' },
    { 'x-s3db-session': 'ab'.repeat(33), 'x-s3db-seq': '1' },
  ]) {
    assert.throws(() => parseSessionTag(bad), S3dbError, JSON.stringify(bad));
  }
});

test('FSM: a retried batch applies once and answers with the first result; without a tag it would fail', async () => {
  await withFsm(async (dir) => {
    const fsm = await Fsm.open(join(dir, 'fsm'));
    const create = (session?: { client: Uint8Array; seq: number }): Command => ({
      type: 'batch',
      preconditions: [{ kind: 'absent', table: 'buckets', key: b('photos') }],
      ops: [{ kind: 'put', table: 'buckets', key: b('photos'), value: b('owner=1') }],
      ...(session ? { session } : {}),
    });
    const first = await fsm.apply([{ index: 1, time: 1000, commands: [create(tag('s1', 1))] }]);
    assert.deepEqual(first, [[{ type: 'batch', ok: true, version: 1 }]]);
    // The answer was lost; the client retries (new log entry, same tag): the first result, nothing applied.
    const retry = await fsm.apply([{ index: 2, time: 1001, commands: [create(tag('s1', 1))] }]);
    assert.deepEqual(retry, [[{ type: 'batch', ok: true, version: 1 }]]);
    assert.equal((await fsm.get('buckets', b('photos')))?.version, 1);
    // The same retry without a tag is what used to happen: a spurious precondition failure.
    const untagged = await fsm.apply([{ index: 3, commands: [create()] }]);
    assert.deepEqual(untagged, [[{ type: 'batch', ok: false, failed: 0, reason: 'key exists' }]]);

    // A delete retried after someone else wrote a newer value must not remove that value.
    await fsm.apply([{ index: 4, commands: [{ type: 'put', table: 'o', key: b('k'), value: b('v1') }] }]);
    const del: Command = { type: 'delete', table: 'o', key: b('k'), session: tag('s2', 1) };
    assert.deepEqual(await fsm.apply([{ index: 5, commands: [del] }]), [[{ type: 'delete', deleted: true }]]);
    await fsm.apply([{ index: 6, commands: [{ type: 'put', table: 'o', key: b('k'), value: b('v2') }] }]);
    assert.deepEqual(await fsm.apply([{ index: 7, commands: [del] }]), [[{ type: 'delete', deleted: true }]]);
    assert.deepEqual((await fsm.get('o', b('k')))?.value, b('v2'));
    // An old request overtaken by a newer one of its session is refused, not applied.
    await fsm.apply([
      {
        index: 8,
        commands: [{ type: 'put', table: 'o', key: b('x'), value: b('2'), session: tag('s3', 2) }],
      },
    ]);
    const stale = await fsm.apply([
      {
        index: 9,
        commands: [{ type: 'put', table: 'o', key: b('x'), value: b('1'), session: tag('s3', 1) }],
      },
    ]);
    assert.deepEqual(stale, [[{ type: 'stale', lastSeq: 2 }]]);
    assert.deepEqual((await fsm.get('o', b('x')))?.value, b('2'));
    // Duplicates inside one entry (grouped proposals) are caught as well.
    const twice: Command = { type: 'put', table: 'o', key: b('y'), value: b('1'), session: tag('s4', 1) };
    assert.deepEqual(await fsm.apply([{ index: 10, commands: [twice, twice] }]), [
      [
        { type: 'put', version: 10 },
        { type: 'put', version: 10 },
      ],
    ]);

    // The table survives a reopen and travels in snapshots.
    await fsm.close();
    const reopened = await Fsm.open(join(dir, 'fsm'));
    assert.deepEqual(reopened.sessions.check(tag('s1', 1)).kind, 'duplicate');
    assert.equal(reopened.sessions.clock, 1001);
    const snap = await reopened.snapshot();
    await reopened.close();
    const other = await Fsm.open(join(dir, 'other'));
    await other.restore(snap.data);
    assert.deepEqual(
      other.sessions.entries(),
      await Fsm.open(join(dir, 'fsm')).then(async (f) => {
        const e = f.sessions.entries();
        await f.close();
        return e;
      }),
    );
    const again = await other.apply([{ index: 11, commands: [create(tag('s1', 1))] }]);
    assert.deepEqual(again, [[{ type: 'batch', ok: true, version: 1 }]]);
    await other.close();
  });
});
