import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JOBS_TABLE,
  JobConflictError,
  JobRecordError,
  JobStateError,
  claimJob,
  createJob,
  decodeJobRecord,
  deleteJob,
  encodeJobRecord,
  getJob,
  isClaimable,
  jobKey,
  listJobs,
  renewJob,
  requestStop,
  resumeJob,
  type JobRecord,
} from '../../../shared/jobs/index.ts';
import { MemoryDb } from './memory-db.ts';

const sample = (over: Partial<JobRecord> = {}): JobRecord => ({
  v: 1,
  id: 'ab'.repeat(16),
  kind: 'repair',
  params: { z: 1, a: 'x', b: true },
  state: 'running',
  created: 1000,
  updated: 2000,
  owner: 'node-1',
  leaseUntil: 5000,
  progress: { done: 3, total: 10, bytes: 4096, unit: 'chunks' },
  cursor: '00ff',
  result: { repaired: 2, note: 'ok' },
  ...over,
});

test('codec: round trip, canonical bytes regardless of key order', () => {
  const r = sample();
  const bytes = encodeJobRecord(r);
  assert.deepEqual(decodeJobRecord(bytes), r);
  const shuffled = JSON.parse(Buffer.from(bytes).toString()) as Record<string, unknown>;
  const reordered = Object.fromEntries(Object.entries(shuffled).reverse()) as JobRecord;
  assert.deepEqual(Buffer.from(encodeJobRecord(reordered)), Buffer.from(bytes));
  // decode → encode gives the stored bytes back (CAS relies on it)
  assert.deepEqual(Buffer.from(encodeJobRecord(decodeJobRecord(bytes))), Buffer.from(bytes));
});

test('codec: typed errors for bad input', () => {
  assert.throws(() => decodeJobRecord(Buffer.from('{nope')), JobRecordError);
  const bad = (patch: Record<string, unknown>) =>
    Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(encodeJobRecord(sample())).toString()), ...patch }),
    );
  assert.throws(() => decodeJobRecord(bad({ v: 2 })), /job record is invalid: v/);
  assert.throws(() => decodeJobRecord(bad({ kind: 'explode' })), /kind/);
  assert.throws(() => decodeJobRecord(bad({ state: 'sleeping' })), /state/);
  assert.throws(() => decodeJobRecord(bad({ id: 'XYZ' })), /id/);
  assert.throws(() => decodeJobRecord(bad({ cursor: 'not hex' })), /cursor/);
  assert.throws(
    () => encodeJobRecord({ ...sample(), progress: { done: -1, bytes: 0, unit: 'x' } }),
    JobRecordError,
  );
  assert.throws(() => jobKey('12'), JobRecordError);
});

test('claimability: queued, or running/stopping under an expired lease', () => {
  assert.equal(isClaimable(sample({ state: 'queued' }), 0), true);
  assert.equal(isClaimable(sample({ state: 'running', leaseUntil: 5000 }), 4999), false);
  assert.equal(isClaimable(sample({ state: 'running', leaseUntil: 5000 }), 5000), true);
  assert.equal(isClaimable(sample({ state: 'stopping', leaseUntil: 5000 }), 6000), true);
  for (const state of ['done', 'failed', 'stopped'] as const)
    assert.equal(isClaimable(sample({ state, leaseUntil: 0 }), 1e12), false);
});

test('create, get, list newest first with filters', async () => {
  const db = new MemoryDb();
  const a = await createJob(db, 'scrub', { node: 'n1' }, 100);
  const b = await createJob(db, 'gc', {}, 200);
  assert.equal(a.state, 'queued');
  assert.deepEqual(await getJob(db, a.id), a);
  assert.equal(await getJob(db, '00'.repeat(16)), undefined);
  assert.deepEqual(
    (await listJobs(db)).map((j) => j.id),
    [b.id, a.id],
  );
  assert.deepEqual(
    (await listJobs(db, { kinds: ['scrub'] })).map((j) => j.id),
    [a.id],
  );
  assert.deepEqual(
    (await listJobs(db, { limit: 1 })).map((j) => j.id),
    [b.id],
  );
  await db.put(JOBS_TABLE, jobKey('11'.repeat(16)), Buffer.from('garbage'));
  assert.equal((await listJobs(db)).length, 2, 'undecodable records are skipped');
  await assert.rejects(createJob(db, 'nap' as never), JobRecordError);
});

test('claim is a compare-and-set: only one of two appliances wins', async () => {
  const db = new MemoryDb();
  const job = await createJob(db, 'repair', {}, 0);
  const [x, y] = await Promise.all([
    claimJob(db, job.id, 'a1', 1000, 10),
    claimJob(db, job.id, 'a2', 1000, 10),
  ]);
  const winners = [x, y].filter((r) => r !== undefined);
  assert.equal(winners.length, 1);
  assert.equal(winners[0]!.state, 'running');
  assert.equal(winners[0]!.leaseUntil, 1010);
  // a competing write between read and CAS makes the claim lose, not overwrite
  const other = await createJob(db, 'repair', {}, 0);
  db.beforeBatch = () =>
    void db.put(
      JOBS_TABLE,
      jobKey(other.id),
      encodeJobRecord({ ...other, owner: 'sneaky', state: 'running', leaseUntil: 99_999 }),
    );
  assert.equal(await claimJob(db, other.id, 'a1', 1000, 10), undefined);
  assert.equal((await getJob(db, other.id))!.owner, 'sneaky');
});

test('lease expiry: a dead owner’s job is taken over; the old owner’s renew then fails', async () => {
  const db = new MemoryDb();
  const job = await createJob(db, 'scrub', {}, 0);
  const mine = (await claimJob(db, job.id, 'a1', 1000, 0))!;
  assert.equal(await claimJob(db, job.id, 'a2', 1000, 999), undefined, 'lease still valid');
  const renewed = await renewJob(
    db,
    mine,
    { leaseUntil: 3000, progress: { done: 5, bytes: 10, unit: 'shards' }, cursor: 'aa' },
    1500,
  );
  assert.equal(await claimJob(db, job.id, 'a2', 1000, 2999), undefined);
  const theirs = (await claimJob(db, job.id, 'a2', 1000, 3000))!;
  assert.equal(theirs.owner, 'a2');
  assert.equal(theirs.cursor, 'aa', 'the cursor survives a takeover');
  // a restarted owner takes its own job back before the lease runs out
  const again = (await claimJob(db, job.id, 'a2', 1000, 3001))!;
  assert.equal(again.owner, 'a2');
  assert.equal(await claimJob(db, job.id, 'a3', 1000, 3002), undefined);
  await assert.rejects(renewJob(db, renewed, { leaseUntil: 9000 }, 3003), (e: unknown) => {
    assert.ok(e instanceof JobConflictError);
    assert.equal(e.current?.owner, 'a2');
    return true;
  });
});

test('stop and resume', async () => {
  const db = new MemoryDb();
  const queued = await createJob(db, 'gc', {}, 0);
  assert.equal((await requestStop(db, queued.id, 1)).state, 'stopped', 'a queued job stops at once');
  const back = await resumeJob(db, queued.id, 2);
  assert.equal(back.state, 'queued');
  const mine = (await claimJob(db, queued.id, 'a1', 1000, 3))!;
  const stopping = await requestStop(db, queued.id, 4);
  assert.equal(stopping.state, 'stopping');
  // the runner's next renew sees the stop request through the conflict
  await assert.rejects(
    renewJob(db, mine, { cursor: 'bb' }, 5),
    (e: unknown) => e instanceof JobConflictError && e.current?.state === 'stopping',
  );
  const stopped = await renewJob(
    db,
    stopping,
    { state: 'stopped', cursor: 'bb', owner: undefined, leaseUntil: undefined },
    6,
  );
  assert.equal(stopped.owner, undefined);
  assert.equal((await getJob(db, queued.id))!.state, 'stopped');
  const resumed = await resumeJob(db, queued.id, 7);
  assert.equal(resumed.cursor, 'bb', 'resume keeps the cursor');
  await assert.rejects(deleteJob(db, (await claimJob(db, queued.id, 'a1', 10, 8))!.id), JobStateError);
  const done = await renewJob(db, (await getJob(db, queued.id))!, { state: 'done' }, 9);
  await assert.rejects(resumeJob(db, done.id), JobStateError);
  assert.equal(await deleteJob(db, done.id), true);
  assert.equal(await getJob(db, done.id), undefined);
});
