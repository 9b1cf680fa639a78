import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashRing } from '../../../shared/ring/index.ts';
import { chooseReplacement, planChunkRepair } from '../../../appliance/maintenance/repair-plan.ts';
import type { ShardSlot } from '../../../appliance/maintenance/repair-plan.ts';
import { RateLimiter, backoffMs } from '../../../appliance/maintenance/rate-limit.ts';
import type { Clock } from '../../../appliance/maintenance/rate-limit.ts';
import { OrphanTracker } from '../../../appliance/maintenance/orphans.ts';
import { chunkGroupOf, isDue } from '../../../appliance/maintenance/healer.ts';
import { membershipOf } from '../../../appliance/maintenance/membership.ts';
import { initialRing } from '../../../shared/cluster/index.ts';
import { repairKey } from '../../../shared/metadata/keys.ts';
import type { RepairRecord } from '../../../shared/metadata/records.ts';

const slot = (shardIndex: number, health: ShardSlot['health'], gone = false): ShardSlot => ({
  shardIndex,
  node: String(shardIndex + 1),
  health,
  gone,
});

test('plan: nothing to do when every shard is ok', () => {
  const plan = planChunkRepair(
    3,
    [0, 1, 2, 3, 4].map((i) => slot(i, 'ok')),
    () => 'x',
  );
  assert.deepEqual(plan, { targets: [], sources: [], blocked: [] });
});

test('plan: missing and corrupt shards are rebuilt in place from k sources, data shards first', () => {
  const plan = planChunkRepair(
    3,
    [slot(0, 'missing'), slot(1, 'ok'), slot(2, 'corrupt'), slot(3, 'ok'), slot(4, 'ok')],
    () => assert.fail('no replacement needed'),
  );
  assert.deepEqual(plan.sources, [1, 3, 4]);
  assert.deepEqual(plan.targets, [
    { shardIndex: 0, node: '1' },
    { shardIndex: 2, node: '3' },
  ]);
  assert.deepEqual(plan.blocked, []);
});

test('plan: an unreachable shard is neither a source nor a target', () => {
  const plan = planChunkRepair(
    3,
    [slot(0, 'unreachable'), slot(1, 'ok'), slot(2, 'missing'), slot(3, 'ok'), slot(4, 'ok')],
    () => undefined,
  );
  assert.deepEqual(plan.sources, [1, 3, 4]);
  assert.deepEqual(plan.targets, [{ shardIndex: 2, node: '3' }]);
});

test('plan: a gone appliance gets a replacement that holds no shard of the chunk', () => {
  const seen: string[][] = [];
  const plan = planChunkRepair(
    2,
    [slot(0, 'unreachable', true), slot(1, 'ok'), slot(2, 'ok', true), slot(3, 'ok')],
    (exclude) => {
      seen.push([...exclude].sort());
      return ['7', '8'].find((n) => !exclude.has(n));
    },
  );
  assert.deepEqual(plan.sources, [1, 3], 'a shard on a gone appliance is never a source');
  assert.deepEqual(plan.targets, [
    { shardIndex: 0, node: '7', replaces: '1' },
    { shardIndex: 2, node: '8', replaces: '3' },
  ]);
  assert.deepEqual(seen, [
    ['1', '2', '3', '4'],
    ['1', '2', '3', '4', '7'],
  ]);
  const none = planChunkRepair(2, [slot(0, 'ok', true), slot(1, 'ok'), slot(2, 'ok')], () => undefined);
  assert.deepEqual(none.blocked, [0]);
  assert.deepEqual(none.targets, []);
});

test('plan: fewer than k readable shards → nothing rebuilt, all blocked', () => {
  const plan = planChunkRepair(
    3,
    [slot(0, 'missing'), slot(1, 'ok'), slot(2, 'unreachable'), slot(3, 'corrupt'), slot(4, 'ok')],
    () => 'x',
  );
  assert.deepEqual(plan.targets, []);
  assert.deepEqual(plan.blocked, [0, 3]);
  assert.match(plan.unrecoverable ?? '', /only 2 of 5 shards are readable, 3 are needed/);
});

test('replacement: deterministic, ring order, never a node of the chunk', () => {
  const ring = new HashRing({ nodes: ['1', '2', '3', '4', '5', '6', '7'], epoch: 0, vnodesPerNode: 16 });
  const exclude = new Set(['1', '2', '3']);
  const a = chooseReplacement(ring, 'b', 'k', 0, exclude);
  assert.equal(a, chooseReplacement(ring, 'b', 'k', 0, exclude));
  assert.ok(a !== undefined && !exclude.has(a));
  const order = ring.placeChunk('b', 'k', 0, 7).filter((n) => !exclude.has(n));
  assert.equal(a, order[0]);
  assert.equal(chooseReplacement(ring, 'b', 'k', 0, new Set(ring.nodes)), undefined);
});

test('membership: gone = not in the config or removed from the ring; replacements only on active nodes', () => {
  const config = { nodes: [1, 2, 3, 4].map((id) => ({ id })), ring: { vnodes: 8 } } as never;
  const plain = membershipOf(config, undefined);
  assert.equal(plain.isGone('5'), true);
  assert.equal(plain.isGone('4'), false);
  assert.deepEqual(plain.placement().nodes, ['1', '2', '3', '4']);
  const ring = initialRing(['1', '2', '3', '4'], 8, 0);
  ring.nodes = ring.nodes.map((n) =>
    n.id === '2' ? { ...n, state: 'removed' } : n.id === '3' ? { ...n, state: 'draining' } : n,
  );
  const m = membershipOf(config, ring);
  assert.equal(m.isGone('2'), true);
  assert.equal(m.isGone('3'), false, 'a draining node still serves; the drain job moves its shards');
  assert.deepEqual(m.placement().nodes, ['1', '4']);
});

test('rate limiter: books time at the configured rate, waits only past the burst', async () => {
  let now = 0;
  const slept: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
  const limiter = new RateLimiter(1000, 100, clock); // 1000 units/s, 100 ms burst
  assert.equal(limiter.book(100), 0, 'within the burst');
  assert.equal(limiter.book(100), 100);
  await limiter.take(500);
  assert.deepEqual(slept, [600]);
  // Over a long run the rate holds: 10 000 units take ~10 s.
  now = 100_000;
  const start = now;
  for (let i = 0; i < 100; i++) await limiter.take(100);
  assert.ok(now - start >= 9_800 && now - start <= 10_000, `${now - start} ms`);
  assert.throws(() => new RateLimiter(0));
});

test('backoff doubles up to the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((a) => backoffMs(a, 100, 1000)),
    [100, 200, 400, 800, 1000],
  );
});

test('orphan tracker: deletes only versions unreferenced in every sweep for the whole grace', () => {
  const t = new OrphanTracker(1000);
  assert.deepEqual(t.observe(new Set(['a', 'b']), 0), []);
  assert.deepEqual(t.observe(new Set(['a', 'b']), 999), []);
  // b got referenced (its PUT committed): forgotten, its clock starts again if it is unreferenced later.
  assert.deepEqual(t.observe(new Set(['a']), 1000), ['a']);
  assert.deepEqual(t.observe(new Set(['a', 'b']), 1500), ['a']);
  assert.deepEqual(t.observe(new Set(['b']), 2400), []);
  assert.deepEqual(t.observe(new Set(['b']), 2500), ['b']);
  assert.equal(t.size, 1);
});

test('healer: tasks of one chunk share a group; due rules for leases, backoff and waitFor', async () => {
  const v = Buffer.alloc(16, 7);
  assert.equal(chunkGroupOf(repairKey(v, 3, 1)), chunkGroupOf(repairKey(v, 3, 99)));
  assert.notEqual(chunkGroupOf(repairKey(v, 3, 1)), chunkGroupOf(repairKey(v, 4, 1)));
  const task: RepairRecord = {
    v: 1,
    bucket: 'b',
    key: 'k',
    versionId: v.toString('hex'),
    chunkIndex: 3,
    shards: [1],
    reason: 'write-failed',
    created: 0,
  };
  const up = async () => true;
  const down = async () => false;
  assert.equal(await isDue(task, 10, down), true, 'a new task is due');
  assert.equal(await isDue({ ...task, owner: '2', notBefore: 20 }, 10, up), false, 'leased');
  assert.equal(await isDue({ ...task, owner: '2', notBefore: 20 }, 20, up), true, 'lease expired');
  assert.equal(await isDue({ ...task, notBefore: 20 }, 10, up), false, 'backoff, waiting for nobody');
  assert.equal(await isDue({ ...task, notBefore: 20, waitFor: ['1'] }, 10, down), false);
  assert.equal(
    await isDue({ ...task, notBefore: 20, waitFor: ['1'] }, 10, up),
    true,
    'its appliance is back',
  );
});
