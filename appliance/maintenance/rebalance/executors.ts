// The three cluster-evolution jobs: `rebalance` (add the configured appliances that are not in the
// ring yet, bump the epoch, move chunks to their new placement), `drain` (stop placing on a node, move
// everything off it, mark it removed) and `migrate-rs` (new objects get RS(k,m); old ones are
// re-encoded in the background).
import { MAX_CHUNK_SIZE } from '../../../shared/datapath/index.ts';
import { validateScheme } from '../../../shared/erasure/index.ts';
import type { RsScheme } from '../../../shared/erasure/index.ts';
import {
  RingChangeError,
  applyRingChange,
  configNodeIds,
  configScheme,
  ensureRing,
  placementRing,
  writeScheme,
} from '../../../shared/cluster/index.ts';
import type { RingRecord } from '../../../shared/cluster/index.ts';
import { logLine, peersFromConfig } from './context.ts';
import type { ExecutorResult, JobScalar, RebalanceJobContext } from './context.ts';
import { GarbageBatch } from './garbage-batch.ts';
import { awaitOldShardsDeleted } from './garbage-wait.ts';
import { cleanStaleIntents } from './intents.ts';
import { migrateObject } from './migrate-object.ts';
import { moveChunk } from './move-chunk.ts';
import type { MoveEnv, StoredObject } from './move-chunk.ts';
import { runPasses } from './passes.ts';
import type { ObjectStats, PassOptions, PassPlan } from './passes.ts';
import { chunksOnNode, inScope, needsMigration, planObjectMoves } from './plan.ts';
import type { ShardIo } from './shard-io.ts';
import { TABLES, objectKey } from '../../../shared/metadata/keys.ts';
import { decodeObjectRecord } from '../../../shared/metadata/records.ts';

/** Intents older than this (ms) are taken to be left by a crashed mover. */
const STALE_INTENT_MS = 30 * 60_000;

/** Old shards stay this long after a switch (then the garbage worker deletes them). */
export const DEFAULT_READ_GRACE_MS = 60_000;

export class JobParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobParamError';
  }
}

function numberParam(params: Record<string, JobScalar>, name: string, fallback: number, min = 0): number {
  const raw = params[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n) || n < min)
    throw new JobParamError(`job parameter ${name} must be a number ≥ ${min}, got ${String(raw)}`);
  return n;
}

function stringParam(params: Record<string, JobScalar>, name: string): string | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  return String(raw);
}

function passOptions(
  ctx: RebalanceJobContext,
  unit: string,
  preparePass: () => Promise<PassPlan>,
): PassOptions {
  const p = ctx.job.params;
  return {
    unit,
    maxPasses: numberParam(p, 'maxPasses', 10, 1),
    settleMs: numberParam(p, 'settleMs', 30_000),
    concurrency: numberParam(p, 'concurrency', 4, 1),
    bytesPerSecond: numberParam(p, 'bytesPerSecond', 0),
    pageSize: numberParam(p, 'pageSize', 200, 1),
    preparePass,
  };
}

/** Job param `readGraceMs`: how long old shards outlive a switch (GETs in flight), default 60 s. */
function readGraceMs(ctx: RebalanceJobContext): number {
  return numberParam(ctx.job.params, 'readGraceMs', DEFAULT_READ_GRACE_MS);
}

function shardIo(ctx: RebalanceJobContext): ShardIo {
  return { shards: ctx.shards, peers: ctx.peers ?? peersFromConfig(ctx.config) };
}

const emptyStats = (): ObjectStats => ({ done: 0, bytes: 0, busy: 0, failed: 0, changed: 0, errors: [] });

/** Moves every chunk of one object to its placement on `ring`, one chunk after the other. */
async function moveObject(
  env: MoveEnv,
  ring: ReturnType<typeof placementRing>,
  obj: StoredObject,
): Promise<ObjectStats> {
  const stats = emptyStats();
  let current: StoredObject = obj;
  const plans = planObjectMoves(obj.bucket, obj.key, obj.record, ring).chunks;
  for (const first of plans) {
    // Re-plan against the record as it is now (an earlier chunk's switch changed its version).
    const plan = planObjectMoves(current.bucket, current.key, current.record, ring).chunks.find(
      (c) => c.chunkIndex === first.chunkIndex,
    );
    if (plan === undefined) continue;
    const outcome = await moveChunk(env, current, plan);
    if (outcome.kind === 'moved') {
      stats.done++;
      stats.bytes += outcome.bytes;
    } else if (outcome.kind === 'busy') stats.busy++;
    else if (outcome.kind === 'changed') stats.changed++;
    else {
      stats.failed++;
      stats.errors.push(`${obj.bucket}/${obj.key} chunk ${plan.chunkIndex}: ${outcome.error}`);
    }
    // The record is re-read only when another chunk of the object still has to move.
    if (first === plans[plans.length - 1]) break;
    const got = await env.db.get(TABLES.objects, objectKey(obj.bucket, obj.key));
    if (got === undefined) break;
    const record = decodeObjectRecord(got.value);
    if (record.versionId !== obj.record.versionId) break;
    current = { ...obj, record, version: got.version };
  }
  return stats;
}

function movePasses(ctx: RebalanceJobContext, io: ShardIo): Promise<PassPlan> {
  return (async () => {
    // Between passes none of this job's moves runs, so its intents still present were left by a move
    // whose clean-up failed (e.g. the copy's appliance timed out): clean them now, or their chunks
    // would stay 'busy' for the rest of the job.
    await cleanStaleIntents(ctx.db, io, ctx.job.id, STALE_INTENT_MS);
    const { record } = await ensureRing(ctx.db, ctx.config);
    const ring = placementRing(record);
    const garbage = new GarbageBatch(ctx.db);
    const env: MoveEnv = {
      db: ctx.db,
      io,
      jobId: ctx.job.id,
      epoch: ring.epoch,
      garbageDone: (key) => garbage.add(key),
      readGraceMs: readGraceMs(ctx),
    };
    return {
      changedAt: record.updated,
      count: (obj) => planObjectMoves(obj.bucket, obj.key, obj.record, ring).chunks.length,
      run: (obj) => moveObject(env, ring, obj),
      afterPage: () => garbage.flush(),
    };
  })();
}

function ringSummary(record: RingRecord): ExecutorResult {
  return {
    epoch: record.epoch,
    active: record.nodes
      .filter((n) => n.state === 'active')
      .map((n) => n.id)
      .join(','),
  };
}

/**
 * Job `rebalance` (params: add? = comma-separated appliance ids; default every configured appliance
 * not in the ring yet). Adds them (epoch + 1), then moves chunks until every one is placed as the
 * current ring says.
 */
export async function rebalanceExecutor(ctx: RebalanceJobContext): Promise<ExecutorResult> {
  const io = shardIo(ctx);
  const stored = await ensureRing(ctx.db, ctx.config);
  const configured = new Set(configNodeIds(ctx.config));
  const explicit = stringParam(ctx.job.params, 'add');
  const wanted =
    explicit !== undefined
      ? explicit
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...configured];
  for (const id of wanted)
    if (!configured.has(id))
      throw new JobParamError(
        `appliance ${id} is not in this appliance's config; add it to [[nodes]] everywhere first`,
      );
  const toAdd = wanted.filter((id) => {
    const known = stored.record.nodes.find((n) => n.id === id);
    return explicit !== undefined ? known?.state !== 'active' : known === undefined;
  });
  if (toAdd.length > 0) {
    const added = (await applyRingChange(ctx.db, ctx.config, { kind: 'add', nodes: toAdd })).record;
    logLine(ctx, `rebalance: added ${toAdd.join(',')} to the ring (epoch ${added.epoch})`);
  }
  const cleaned = await cleanStaleIntents(ctx.db, io, ctx.job.id, STALE_INTENT_MS);
  const result = await runPasses(
    ctx,
    passOptions(ctx, 'chunks', () => movePasses(ctx, io)),
  );
  const final = (await ensureRing(ctx.db, ctx.config)).record;
  return {
    ...ringSummary(final),
    added: toAdd.join(','),
    ...passResult(result),
    staleIntentsCleaned: cleaned.cleaned,
  };
}

function passResult(r: Awaited<ReturnType<typeof runPasses>>): ExecutorResult {
  return {
    passes: r.passes,
    chunks: r.done,
    bytes: r.bytes,
    failed: r.failed,
    busy: r.busy,
    changed: r.changed,
  };
}

/** How long a drain waits past the read grace for the garbage workers (they poll every few seconds). */
const DRAIN_GARBAGE_WAIT_MS = 5 * 60_000;

/** Job `drain` (param node): stop placing on the node, move all its shards off, mark it removed. */
export async function drainExecutor(ctx: RebalanceJobContext): Promise<ExecutorResult> {
  const node = stringParam(ctx.job.params, 'node');
  if (node === undefined) throw new JobParamError('job drain needs the parameter node');
  const io = shardIo(ctx);
  const stored = await ensureRing(ctx.db, ctx.config);
  const known = stored.record.nodes.find((n) => n.id === node);
  if (known === undefined) throw new JobParamError(`appliance ${node} is not in the ring`);
  if (known.state === 'removed') return { ...ringSummary(stored.record), node, state: 'removed' };
  if (known.state === 'active') {
    const next = await applyRingChange(ctx.db, ctx.config, { kind: 'drain', node });
    logLine(ctx, `drain: node ${node} is draining (epoch ${next.record.epoch})`);
  }
  const cleaned = await cleanStaleIntents(ctx.db, io, ctx.job.id, STALE_INTENT_MS);
  const result = await runPasses(
    ctx,
    passOptions(ctx, 'chunks', () => movePasses(ctx, io)),
  );
  // The passes converged: nothing is placed on the node any more (a chunk wider than the ring would
  // have made them fail). Check once more before the node is marked removed.
  for await (const item of ctx.db.scanAll(TABLES.objects, { limit: 500 })) {
    if (chunksOnNode(decodeObjectRecord(item.value), node).length > 0)
      throw new Error(
        `node ${node} still holds shards of ${Buffer.from(item.key).toString('utf8').replace('\0', '/')}`,
      );
  }
  logLine(ctx, `drain: waiting for the garbage workers to delete the old shards on node ${node}`);
  const leftOnNode = await awaitOldShardsDeleted(ctx, io, node, readGraceMs(ctx) + DRAIN_GARBAGE_WAIT_MS);
  let final: RingRecord;
  try {
    final = (await applyRingChange(ctx.db, ctx.config, { kind: 'remove', node })).record;
  } catch (error) {
    if (!(error instanceof RingChangeError) || error.code !== 'NOT_DRAINING') throw error;
    final = (await ensureRing(ctx.db, ctx.config)).record;
  }
  logLine(ctx, `drain: node ${node} holds nothing and is removed`);
  return {
    ...ringSummary(final),
    node,
    state: 'removed',
    ...passResult(result),
    staleIntentsCleaned: cleaned.cleaned,
    garbageLeftOnNode: leftOnNode,
  };
}

/**
 * Job `migrate-rs` (params k, m; optional bucket, prefix, maxChunkSize). Without a bucket/prefix the
 * ring record's scheme becomes RS(k,m), so every gateway writes new objects with it; then every old
 * object in scope is re-encoded.
 */
export async function migrateRsExecutor(ctx: RebalanceJobContext): Promise<ExecutorResult> {
  const p = ctx.job.params;
  const scheme: RsScheme = { k: numberParam(p, 'k', NaN, 1), m: numberParam(p, 'm', NaN, 1) };
  try {
    validateScheme(scheme);
  } catch (error) {
    throw new JobParamError(`migrate-rs: ${(error as Error).message}`);
  }
  const bucket = stringParam(p, 'bucket');
  const prefix = stringParam(p, 'prefix');
  const scope = { ...(bucket ? { bucket } : {}), ...(prefix ? { prefix } : {}) };
  const maxChunkSize = numberParam(p, 'maxChunkSize', MAX_CHUNK_SIZE, 1);
  const io = shardIo(ctx);
  let ring = (await ensureRing(ctx.db, ctx.config)).record;
  const current = writeScheme(ring, configScheme(ctx.config));
  if (bucket === undefined && prefix === undefined && (current.k !== scheme.k || current.m !== scheme.m)) {
    ring = (await applyRingChange(ctx.db, ctx.config, { kind: 'set-rs', ...scheme })).record;
    logLine(ctx, `migrate-rs: new objects use RS(${scheme.k},${scheme.m})`);
  } else if (scheme.k + scheme.m > placementRing(ring).nodes.length) {
    throw new JobParamError(`RS(${scheme.k},${scheme.m}) needs ${scheme.k + scheme.m} active appliances`);
  }
  const result = await runPasses(
    ctx,
    passOptions(ctx, 'objects', async () => {
      const { record } = await ensureRing(ctx.db, ctx.config);
      const placement = placementRing(record);
      const env = { db: ctx.db, io, ring: placement, scheme, maxChunkSize, readGraceMs: readGraceMs(ctx) };
      const wants = (obj: StoredObject): boolean =>
        inScope(obj.bucket, obj.key, scope) &&
        obj.record.chunks.length > 0 &&
        needsMigration(obj.record, scheme);
      return {
        changedAt: record.updated,
        count: (obj) => (wants(obj) ? 1 : 0),
        run: async (obj) => {
          const stats = emptyStats();
          const outcome = await migrateObject(env, obj);
          if (outcome.kind === 'migrated') {
            stats.done++;
            stats.bytes += outcome.bytes;
          } else if (outcome.kind === 'changed') stats.changed++;
          else {
            stats.failed++;
            stats.errors.push(`${obj.bucket}/${obj.key}: ${outcome.error}`);
          }
          return stats;
        },
      };
    }),
  );
  return { rs: `${scheme.k},${scheme.m}`, ...ringSummary(ring), ...passResult(result), objects: result.done };
}

/** Registers the three executors with the job runner's `registerJobExecutor`. */
export function registerRebalanceExecutors(
  register: (
    kind: 'rebalance' | 'drain' | 'migrate-rs',
    executor: (ctx: RebalanceJobContext) => Promise<ExecutorResult>,
  ) => void,
): void {
  register('rebalance', rebalanceExecutor);
  register('drain', drainExecutor);
  register('migrate-rs', migrateRsExecutor);
}
