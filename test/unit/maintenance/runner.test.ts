import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobRunner } from '../../../appliance/maintenance/runner.ts';
import { JobAbortError } from '../../../appliance/maintenance/registry.ts';
import type { JobContext, JobExecutor } from '../../../appliance/maintenance/registry.ts';
import { emptyStats } from '../../../appliance/maintenance/stats.ts';
import { createJob, encodeJobRecord, getJob, requestStop, resumeJob } from '../../../shared/jobs/index.ts';
import type { JobRecord } from '../../../shared/jobs/index.ts';
import { MemoryDb } from '../jobs/memory-db.ts';

function runner(db: MemoryDb, owner: string, executors: Partial<Record<string, JobExecutor>>, leaseMs = 300) {
  const stats = emptyStats(Number(owner));
  const r = new JobRunner({
    db,
    owner,
    pollMs: 20,
    leaseMs,
    executor: (kind) => executors[kind],
    context: (job, signal, progress) => ({ job, signal, progress }) as unknown as JobContext,
    stats,
    log: () => {},
  });
  return { r, stats };
}

async function until(db: MemoryDb, id: string, ok: (j: JobRecord) => boolean): Promise<JobRecord> {
  for (let i = 0; i < 500; i++) {
    const j = await getJob(db, id);
    if (j && ok(j)) return j;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} never got there: ${JSON.stringify(await getJob(db, id))}`);
}

test('runs a queued job once, saves progress, records the result', async () => {
  const db = new MemoryDb();
  let runs = 0;
  const gc: JobExecutor = async (ctx) => {
    runs++;
    ctx.progress({ done: 3, total: 3, bytes: 10, unit: 'records' });
    return { records: 3 };
  };
  const a = runner(db, '1', { gc });
  const b = runner(db, '2', { gc });
  const job = await createJob(db, 'gc');
  a.r.start();
  b.r.start();
  const done = await until(db, job.id, (j) => j.state === 'done');
  await Promise.all([a.r.stop(), b.r.stop()]);
  assert.equal(runs, 1, 'two appliances never run the same job');
  assert.deepEqual(done.result, { records: 3 });
  assert.deepEqual(done.progress, { done: 3, total: 3, bytes: 10, unit: 'records' });
  assert.equal(done.leaseUntil, undefined);
  assert.equal(a.stats.jobs.done + b.stats.jobs.done, 1);
});

test('jobs with params.node run only on that appliance; unknown kinds are left alone', async () => {
  const db = new MemoryDb();
  const ranOn: string[] = [];
  const scrub =
    (who: string): JobExecutor =>
    async () =>
      void ranOn.push(who);
  const a = runner(db, '1', { scrub: scrub('1') });
  const b = runner(db, '2', { scrub: scrub('2') });
  const job = await createJob(db, 'scrub', { node: 2 });
  const other = await createJob(db, 'rebalance');
  a.r.start();
  b.r.start();
  await until(db, job.id, (j) => j.state === 'done');
  await Promise.all([a.r.stop(), b.r.stop()]);
  assert.deepEqual(ranOn, ['2']);
  assert.equal((await getJob(db, other.id))!.state, 'queued');
});

test('stop → the executor is aborted, the cursor saved, state stopped; resume continues from the cursor', async () => {
  const db = new MemoryDb();
  const cursors: (string | undefined)[] = [];
  const repair: JobExecutor = async (ctx) => {
    cursors.push(ctx.job.cursor);
    if (ctx.job.cursor === 'aa') return { finished: 1 };
    ctx.progress({ done: 1, cursor: 'aa' });
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    assert.ok(ctx.signal.reason instanceof JobAbortError);
    assert.equal(ctx.signal.reason.reason, 'stop');
  };
  const a = runner(db, '1', { repair });
  const job = await createJob(db, 'repair');
  a.r.start();
  await until(db, job.id, (j) => j.state === 'running' && j.cursor === 'aa');
  await requestStop(db, job.id);
  const stopped = await until(db, job.id, (j) => j.state === 'stopped');
  assert.equal(stopped.cursor, 'aa');
  await resumeJob(db, job.id);
  const done = await until(db, job.id, (j) => j.state === 'done');
  await a.r.stop();
  assert.deepEqual(cursors, [undefined, 'aa']);
  assert.deepEqual(done.result, { finished: 1 });
});

test('shutdown hands the job back (queued, cursor kept); a failure is recorded', async () => {
  const db = new MemoryDb();
  const slow: JobExecutor = async (ctx) => {
    ctx.progress({ cursor: '0f' });
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
  };
  const a = runner(db, '1', { compact: slow, gc: async () => Promise.reject(new Error('disk on fire')) });
  const job = await createJob(db, 'compact');
  const bad = await createJob(db, 'gc');
  a.r.start();
  await until(db, job.id, (j) => j.state === 'running' && j.cursor === '0f');
  const failed = await until(db, bad.id, (j) => j.state === 'failed');
  assert.equal(failed.error, 'disk on fire');
  await a.r.stop();
  const back = (await getJob(db, job.id))!;
  assert.equal(back.state, 'queued');
  assert.equal(back.owner, undefined);
  assert.equal(back.cursor, '0f');
});

test('a dead owner’s job is taken over once its lease expired, resuming from its cursor', async () => {
  const db = new MemoryDb();
  const seen: (string | undefined)[] = [];
  const executor: JobExecutor = async (ctx) => {
    seen.push(ctx.job.cursor);
    return { by: 'second' };
  };
  const job = await createJob(db, 'repair');
  // Claimed by appliance 9, which died: its lease has run out.
  const dead = { ...job, state: 'running' as const, owner: '9', leaseUntil: 1, cursor: 'be' };
  await db.put('pd.jobs', Buffer.from(job.id, 'hex'), encodeJobRecord(dead));
  const b = runner(db, '2', { repair: executor });
  b.r.start();
  const done = await until(db, job.id, (j) => j.state === 'done');
  await b.r.stop();
  assert.equal(done.owner, '2');
  assert.deepEqual(seen, ['be']);
  assert.deepEqual(done.result, { by: 'second' });
});
