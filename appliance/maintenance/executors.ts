// Job executors by kind. Heal's (repair, scrub, gc, compact) are registered here; other engineers
// register theirs with registerJobExecutor from their own files, imported at the end of this file.
import { createJob, getJob, isFinal, requestStop } from '../../shared/jobs/index.ts';
import type { JobKind, JobRecord } from '../../shared/jobs/index.ts';
import { realClock } from './rate-limit.ts';
import { JobAbortError, registerJobExecutor } from './registry.ts';
import type { JobContext, JobExecutor } from './registry.ts';
import { jobNode } from './runner.ts';
import { scrubAndQueue } from './scrub.ts';
import { countObjects, sweep } from './sweep.ts';
import type { SweepTotals } from './sweep.ts';

export { registerJobExecutor, jobExecutor, registeredKinds, JobAbortError } from './registry.ts';
export type { JobContext, JobExecutor, ProgressPatch } from './registry.ts';

const CHILD_POLL_MS = 1000;
const ID_HEX = 32;

/**
 * An executor for work that is local to each appliance (scrub, compact): with params.node it runs
 * `local` on that appliance; without, it creates one child job per appliance (params.node set,
 * params.parent = this job) and follows them until they are all finished.
 */
export function perAppliance(kind: JobKind, local: JobExecutor): JobExecutor {
  return async (ctx) => {
    if (jobNode(ctx.job) !== undefined) return local(ctx);
    const cursor = ctx.job.cursor ?? '';
    const ids: string[] = [];
    for (let i = 0; i + ID_HEX <= cursor.length; i += ID_HEX) ids.push(cursor.slice(i, i + ID_HEX));
    if (ids.length === 0) {
      for (const node of ctx.config.nodes) {
        const child = await createJob(ctx.db, kind, { ...ctx.job.params, node: node.id, parent: ctx.job.id });
        ids.push(child.id);
      }
      ctx.progress({ cursor: ids.join(''), total: ids.length, done: 0, unit: 'appliances' });
    }
    for (let round = 0; round < 10_000_000; round++) {
      const children = (await Promise.all(ids.map((id) => getJob(ctx.db, id)))).filter(
        (c): c is JobRecord => c !== undefined,
      );
      const finished = children.filter((c) => isFinal(c.state));
      ctx.progress({
        done: finished.length,
        total: ids.length,
        bytes: children.reduce((n, c) => n + c.progress.bytes, 0),
        unit: 'appliances',
      });
      if (ctx.signal.aborted) {
        const reason = ctx.signal.reason instanceof JobAbortError ? ctx.signal.reason.reason : 'shutdown';
        if (reason === 'stop')
          await Promise.all(children.filter((c) => !isFinal(c.state)).map((c) => requestStop(ctx.db, c.id)));
        return;
      }
      if (finished.length === children.length) return sumResults(children);
      await realClock.sleep(CHILD_POLL_MS, ctx.signal).catch(() => undefined);
    }
  };
}

function sumResults(children: JobRecord[]): Record<string, number> {
  const out: Record<string, number> = { appliances: children.length, failed: 0, stopped: 0 };
  for (const c of children) {
    if (c.state === 'failed') out['failed'] = (out['failed'] ?? 0) + 1;
    if (c.state === 'stopped') out['stopped'] = (out['stopped'] ?? 0) + 1;
    for (const [name, value] of Object.entries(c.result ?? {}))
      if (typeof value === 'number') out[name] = (out[name] ?? 0) + value;
  }
  return out;
}

async function repairSweep(ctx: JobContext): Promise<Record<string, number>> {
  const bucket = typeof ctx.job.params['bucket'] === 'string' ? ctx.job.params['bucket'] : undefined;
  const before = ctx.job.result ?? {};
  const number = (name: string): number => (typeof before[name] === 'number' ? before[name] : 0);
  // A resumed sweep carries its totals in the job's last result.
  const totals: SweepTotals = {
    objects: ctx.job.progress.done,
    chunks: number('chunks'),
    healthy: number('healthy'),
    repaired: number('repaired'),
    queued: number('queued'),
    shardsRebuilt: number('shardsRebuilt'),
    bytesRebuilt: ctx.job.progress.bytes,
  };
  if (ctx.job.progress.total === undefined || ctx.job.cursor === undefined)
    ctx.progress({ total: await countObjects(ctx.db, bucket), unit: 'objects' });
  await sweep(
    {
      db: ctx.db,
      repair: ctx.repair,
      ...(ctx.job.cursor ? { cursor: ctx.job.cursor } : {}),
      ...(bucket ? { bucket } : {}),
      concurrency: Math.max(1, ctx.repair.concurrency),
      signal: ctx.signal,
      progress: ctx.progress,
      log: ctx.log,
    },
    totals,
  );
  return { ...totals };
}

async function scrubLocal(ctx: JobContext): Promise<Record<string, number>> {
  const outcome = await scrubAndQueue({ store: ctx.store, db: ctx.db, stats: ctx.stats, log: ctx.log }, (p) =>
    ctx.progress({ done: p.bytesDone, total: p.bytesTotal, bytes: p.bytesDone, unit: 'bytes' }),
  );
  return { ...outcome };
}

async function compactLocal(ctx: JobContext): Promise<Record<string, number>> {
  const results = await ctx.store.compact();
  const reclaimedBytes = results.reduce((n, r) => n + r.reclaimedBytes, 0);
  const compacted = results.filter((r) => r.skipped === undefined).length;
  ctx.stats.compaction.runs++;
  ctx.stats.compaction.volumesCompacted += compacted;
  ctx.stats.compaction.reclaimedBytes += reclaimedBytes;
  ctx.stats.compaction.lastRunAt = Date.now();
  ctx.progress({ done: compacted, total: results.length, bytes: reclaimedBytes, unit: 'volumes' });
  return {
    volumesCompacted: compacted,
    volumesSkipped: results.length - compacted,
    reclaimedBytes,
    movedRecords: results.reduce((n, r) => n + r.movedRecords, 0),
  };
}

async function gc(ctx: JobContext): Promise<Record<string, number>> {
  const shardsBefore = ctx.stats.gc.shardsDeleted;
  const records = await ctx.garbage.drain(ctx.signal, (finished) =>
    ctx.progress({ done: finished, bytes: 0, unit: 'records' }),
  );
  return { records, shardsDeleted: ctx.stats.gc.shardsDeleted - shardsBefore };
}

registerJobExecutor('repair', repairSweep);
registerJobExecutor('scrub', perAppliance('scrub', scrubLocal));
registerJobExecutor('compact', perAppliance('compact', compactLocal));
registerJobExecutor('gc', gc);

// Other engineers' executors register themselves when imported; add one import line per module below.
import './rebalance/register.ts';
