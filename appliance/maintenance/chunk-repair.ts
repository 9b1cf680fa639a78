// Rebuilds the missing or corrupt shards of one chunk: STAT every shard, read k good ones (CRC-checked
// by the appliance and again in transit), reconstruct the rest with Reed-Solomon, write them to their
// recorded appliance — or to a replacement when that one is gone for good, then switch the object
// record's placement with a compare-and-set.
import { ReedSolomonCodec, segmentView } from '../../shared/erasure/index.ts';
import { makeGeometry, shardLength, stripeCount, stripeLayout } from '../../shared/datapath/index.ts';
import type { Geometry } from '../../shared/datapath/index.ts';
import { TABLES, objectKey } from '../../shared/metadata/keys.ts';
import { decodeObjectRecord, encodeObjectRecord, shardLocation } from '../../shared/metadata/records.ts';
import type { ObjectRecord } from '../../shared/metadata/records.ts';
import type { S3dbClient } from '../../shared/s3db-client/index.ts';
import type { FetchedShard, ShardClient, ShardPeer } from '../../shared/shard-client/index.ts';
import type { Membership } from './membership.ts';
import type { RateLimiter } from './rate-limit.ts';
import { chooseReplacement, planChunkRepair } from './repair-plan.ts';
import type { RepairPlan, ShardHealth, ShardSlot } from './repair-plan.ts';
import type { MaintenanceStats } from './stats.ts';

export interface RepairContext {
  db: Pick<S3dbClient, 'get' | 'batch'>;
  shards: Pick<ShardClient, 'shardStat' | 'fetchShard' | 'putShard' | 'deleteShard'>;
  peers: ReadonlyMap<string, ShardPeer>;
  membership(): Promise<Membership>;
  /** Bytes read and written by repairs pass through it. */
  limiter: RateLimiter;
  /** Base timeout of a shard request, plus bytes / minBytesPerMs. */
  timeoutMs: number;
  minBytesPerMs: number;
  /** Chunks repaired at once (healer, sweep). */
  concurrency: number;
  stats: MaintenanceStats;
}

export interface ChunkRef {
  bucket: string;
  key: string;
  /** The object record as read (its version is the one repaired). */
  record: ObjectRecord;
  chunkIndex: number;
}

export type ChunkRepairStatus =
  /** Every shard is present with the right shape (nothing written). */
  | 'healthy'
  /** Every shard that needed it was rebuilt. */
  | 'repaired'
  /** Some shards could not be rebuilt now (appliance down, too few readable shards): retry later. */
  | 'blocked'
  /** The object version is gone (overwritten or deleted): nothing to do. */
  | 'gone';

export interface ChunkRepairResult {
  status: ChunkRepairStatus;
  rebuilt: number[];
  blocked: number[];
  /** Appliances that did not answer (the caller may wait for them). */
  unreachable: string[];
  replaced: Array<{ shardIndex: number; from: string; to: string }>;
  bytesWritten: number;
  bytesRead: number;
  detail?: string;
}

const MAX_ROUNDS = 8;
const MAX_RECORD_CAS = 8;

function geometryFor(record: ObjectRecord, k: number, m: number): Geometry {
  return makeGeometry({ k, m }, { segmentSize: record.segmentSize, maxChunkSize: record.chunkSize });
}

function classify(error: unknown): ShardHealth {
  const code = (error as { code?: string }).code;
  if (code === 'NOT_FOUND') return 'missing';
  if (code === 'CORRUPT') return 'corrupt';
  return 'unreachable';
}

/**
 * Checks one chunk and rebuilds what it needs. `suspects` are shards someone saw fail (a read-repair
 * or scrub finding): they are read in full to check their CRCs, not only STATed.
 */
export async function repairChunk(
  ctx: RepairContext,
  ref: ChunkRef,
  suspects: readonly number[] = [],
  signal?: AbortSignal,
): Promise<ChunkRepairResult> {
  const { record, chunkIndex } = ref;
  const chunk = record.chunks[chunkIndex];
  if (chunk === undefined) throw new Error(`chunk ${chunkIndex} is not in the record of ${ref.key}`);
  const { k, m } = chunk;
  const geometry = geometryFor(record, k, m);
  const stripes = stripeCount(geometry, chunk.length);
  const expectedLength = shardLength(geometry, chunk.length);
  const location = shardLocation(record, chunkIndex);
  const storedVersion = Buffer.from(location.versionId, 'hex');
  const keyOf = (shardIndex: number) => ({
    versionId: storedVersion,
    chunkIndex: location.chunkIndex,
    shardIndex,
  });
  const timeout = (bytes: number): number => Math.ceil(ctx.timeoutMs + bytes / ctx.minBytesPerMs);
  const membership = await ctx.membership();
  const result: ChunkRepairResult = {
    status: 'healthy',
    rebuilt: [],
    blocked: [],
    unreachable: [],
    replaced: [],
    bytesWritten: 0,
    bytesRead: 0,
  };

  // 1. What each appliance has.
  const slots: ShardSlot[] = await Promise.all(
    chunk.nodes.map(async (node, shardIndex): Promise<ShardSlot> => {
      const gone = membership.isGone(node);
      const peer = ctx.peers.get(node);
      if (gone || peer === undefined) return { shardIndex, node, health: 'unreachable', gone: true };
      try {
        const info = await ctx.shards.shardStat(peer, keyOf(shardIndex), {
          timeoutMs: ctx.timeoutMs,
          signal,
        });
        const shaped =
          info.segmentCount === stripes &&
          info.length === expectedLength &&
          info.rsData === k &&
          info.rsParity === m;
        return { shardIndex, node, health: shaped ? 'ok' : 'corrupt', gone };
      } catch (error) {
        if ((error as { code?: string }).code === 'CANCELLED') throw error;
        return { shardIndex, node, health: classify(error), gone };
      }
    }),
  );

  // 2. Suspects are read whole: the appliance verifies every segment's CRC as it sends.
  const fetched = new Map<number, FetchedShard>();
  const fetchWhole = async (shardIndex: number): Promise<void> => {
    const slot = slots[shardIndex] as ShardSlot;
    const peer = ctx.peers.get(slot.node) as ShardPeer;
    await ctx.limiter.take(expectedLength, signal);
    try {
      const got = await ctx.shards.fetchShard(
        peer,
        keyOf(shardIndex),
        {},
        { timeoutMs: timeout(expectedLength), signal },
      );
      const shaped =
        got.segments.length === stripes &&
        got.segments.every((s, i) => s.length === stripeLayout(geometry, chunk.length, i).segmentLength);
      result.bytesRead += got.totalLength;
      if (shaped) fetched.set(shardIndex, got);
      else slot.health = 'corrupt';
    } catch (error) {
      if ((error as { code?: string }).code === 'CANCELLED') throw error;
      slot.health = classify(error);
    }
  };
  await Promise.all(
    [...new Set(suspects)].filter((j) => slots[j]?.health === 'ok').map((j) => fetchWhole(j)),
  );

  // 3. Plan, read the sources (re-planning when a source turns out bad), rebuild.
  const replacement = (exclude: ReadonlySet<string>): string | undefined =>
    chooseReplacement(membership.placement(), ref.bucket, ref.key, chunkIndex, exclude);
  let plan: RepairPlan = planChunkRepair(k, slots, replacement);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    plan = planChunkRepair(k, slots, replacement);
    const missing = plan.sources.filter((j) => !fetched.has(j));
    if (plan.targets.length === 0 || missing.length === 0) break;
    await Promise.all(missing.map((j) => fetchWhole(j)));
  }
  // An appliance that did not answer may lack its shard: the chunk cannot be called healthy yet.
  const silent = slots.filter((s) => s.health === 'unreachable' && !s.gone);
  result.unreachable = silent.map((s) => s.node);
  const blockedOf = (...lists: number[][]): number[] => [...new Set(lists.flat())].sort((a, b) => a - b);
  if (plan.targets.length === 0 || !plan.sources.every((j) => fetched.has(j))) {
    result.blocked = blockedOf(
      plan.blocked,
      plan.targets.map((t) => t.shardIndex),
      silent.map((s) => s.shardIndex),
    );
    if (result.blocked.length > 0) {
      result.status = 'blocked';
      result.detail =
        plan.unrecoverable ??
        (plan.targets.length > 0
          ? 'could not read k good shards'
          : `no answer from ${result.unreachable.join(', ')}`);
    }
    ctx.stats.repair.bytesRead += result.bytesRead;
    return result;
  }
  const rebuilt = await reconstruct(
    new ReedSolomonCodec({ k, m }),
    geometry,
    chunk.length,
    stripes,
    plan.sources.map((j) => [j, fetched.get(j) as FetchedShard] as const),
    plan.targets.map((t) => t.shardIndex),
  );
  ctx.stats.repair.bytesRead += result.bytesRead;

  // 4. Write each rebuilt shard.
  const written: typeof plan.targets = [];
  await Promise.all(
    plan.targets.map(async (target) => {
      const segments = rebuilt.get(target.shardIndex) as Buffer[];
      const peer = ctx.peers.get(target.node);
      if (peer === undefined) {
        result.blocked.push(target.shardIndex);
        return;
      }
      await ctx.limiter.take(expectedLength, signal);
      try {
        await ctx.shards.putShard(peer, keyOf(target.shardIndex), { rsData: k, rsParity: m }, segments, {
          timeoutMs: timeout(expectedLength),
          signal,
        });
        written.push(target);
        result.bytesWritten += expectedLength;
      } catch (error) {
        if ((error as { code?: string }).code === 'CANCELLED') throw error;
        result.blocked.push(target.shardIndex);
        if (!target.replaces) result.unreachable.push(target.node);
      }
    }),
  );

  // 5. Replacements only count once the record places them.
  const moved = written.filter((t) => t.replaces !== undefined);
  if (moved.length > 0) {
    const switched = await switchPlacement(ctx, ref, moved);
    if (!switched) {
      // The version is gone or its placement changed under us: the copies are orphans; drop them.
      await Promise.all(
        moved.map((t) =>
          ctx.shards
            .deleteShard(ctx.peers.get(t.node) as ShardPeer, keyOf(t.shardIndex), {
              timeoutMs: ctx.timeoutMs,
            })
            .catch(() => false),
        ),
      );
      result.status = 'gone';
      return result;
    }
    for (const t of moved)
      result.replaced.push({ shardIndex: t.shardIndex, from: t.replaces as string, to: t.node });
  }
  result.rebuilt = written.map((t) => t.shardIndex).sort((a, b) => a - b);
  result.blocked = blockedOf(
    plan.blocked,
    result.blocked,
    silent.map((s) => s.shardIndex),
  );
  result.status = result.blocked.length > 0 ? 'blocked' : 'repaired';
  ctx.stats.repair.shardsRebuilt += result.rebuilt.length;
  ctx.stats.repair.bytesRebuilt += result.bytesWritten;
  ctx.stats.repair.shardsReplaced += result.replaced.length;
  return result;
}

/** Rebuilds `targets` stripe by stripe from the k `sources`; returns each target's segments. */
async function reconstruct(
  codec: ReedSolomonCodec,
  geometry: Geometry,
  chunkLength: number,
  stripes: number,
  sources: ReadonlyArray<readonly [number, FetchedShard]>,
  targets: readonly number[],
): Promise<Map<number, Buffer[]>> {
  const { k, m } = codec.scheme;
  const out = new Map<number, Buffer[]>(targets.map((t) => [t, []]));
  const buffers = {
    data: Buffer.allocUnsafe(k * geometry.segmentSize),
    parity: Buffer.allocUnsafe(m * geometry.segmentSize),
  };
  const present = Array.from({ length: k + m }, () => false);
  for (const [j] of sources) present[j] = true;
  for (let s = 0; s < stripes; s++) {
    const L = stripeLayout(geometry, chunkLength, s).segmentLength;
    for (const [j, shard] of sources)
      segmentView(buffers, codec.scheme, L, j).set(shard.segments[s] as Buffer);
    await codec.reconstruct(buffers, L, present, targets);
    for (const t of targets)
      (out.get(t) as Buffer[]).push(Buffer.from(segmentView(buffers, codec.scheme, L, t)));
  }
  return out;
}

/**
 * Points the record's chunk at the replacement appliances, if the record still is the same version
 * and still places those shards on the gone appliances. False when it no longer does.
 */
async function switchPlacement(
  ctx: RepairContext,
  ref: ChunkRef,
  moved: ReadonlyArray<{ shardIndex: number; node: string; replaces?: string }>,
): Promise<boolean> {
  const key = objectKey(ref.bucket, ref.key);
  for (let attempt = 0; attempt < MAX_RECORD_CAS; attempt++) {
    const current = await ctx.db.get(TABLES.objects, key);
    if (current === undefined) return false;
    const record = decodeObjectRecord(current.value);
    if (record.versionId !== ref.record.versionId) return false;
    const chunk = record.chunks[ref.chunkIndex];
    if (chunk === undefined) return false;
    if (moved.some((t) => chunk.nodes[t.shardIndex] !== t.replaces)) return false;
    const nodes = [...chunk.nodes];
    for (const t of moved) nodes[t.shardIndex] = t.node;
    const chunks = record.chunks.map((c, i) => (i === ref.chunkIndex ? { ...c, nodes } : c));
    const r = await ctx.db.batch(
      [{ kind: 'versionEquals', table: TABLES.objects, key, version: current.version }],
      [{ kind: 'put', table: TABLES.objects, key, value: encodeObjectRecord({ ...record, chunks }) }],
    );
    if (r.ok) return true;
  }
  return false;
}
