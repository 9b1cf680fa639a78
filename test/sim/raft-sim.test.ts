// Seeded simulations of 3- and 5-node clusters under faults; every run checks Raft's safety properties and
// liveness after healing (see cluster.ts). Replay a failing seed with: SEED=<n> node --import tsx test/sim/long-run.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation, type SimStats } from './cluster.ts';

function runSeeds(first: number, count: number, nodes: 3 | 5, chaosTicks: number): SimStats[] {
  const out: SimStats[] = [];
  for (let seed = first; seed < first + count; seed++) {
    out.push(new Simulation({ seed, nodes, chaosTicks }).run());
  }
  return out;
}

function total(stats: SimStats[], key: keyof SimStats): number {
  return stats.reduce((sum, s) => sum + s[key], 0);
}

test('3-node clusters under drops, duplicates, delays, partitions, crashes, membership changes stay safe and live', () => {
  const stats = runSeeds(1, 40, 3, 400);
  // The runs must actually exercise what they claim to.
  assert.ok(total(stats, 'committed') > 40 * 50, 'entries committed');
  assert.ok(total(stats, 'crashes') > 40, 'crashes injected');
  assert.ok(total(stats, 'partitions') > 40, 'partitions injected');
  assert.ok(total(stats, 'snapshotsInstalled') > 10, 'snapshots installed');
  assert.ok(total(stats, 'confChangesApplied') > 40 * 3, 'membership changes applied');
  assert.ok(total(stats, 'readsServed') > 40 * 20, 'ReadIndex reads served');
  assert.ok(total(stats, 'transfersDone') > 0, 'leadership transfers completed');
  // Session-tagged client writes, retried after unknown outcomes, took effect exactly once on every node.
  assert.ok(total(stats, 'sessionRetries') > 40 * 10, 'client retries proposed');
  assert.ok(total(stats, 'duplicatesAnswered') > 40 * 10, 'duplicates answered with the first result');
  assert.ok(total(stats, 'sessionsExpired') > 0, 'idle sessions expired by the replicated clock');
  // Committed entries applied while the Ready's own write was under way, then a crash before it landed; and
  // restarts whose durable FSM was ahead of the stored log commit.
  assert.ok(total(stats, 'crashesAfterEarlyApply') > 10, 'crashes after an early apply');
  assert.ok(total(stats, 'restartsWithFsmAhead') > 0, 'restarts with the FSM ahead of the stored commit');
});

test('5-node clusters under the same faults stay safe and live', () => {
  const stats = runSeeds(1001, 25, 5, 400);
  assert.ok(total(stats, 'committed') > 25 * 50);
  assert.ok(total(stats, 'snapshotsInstalled') > 5);
  assert.ok(total(stats, 'transfersDone') > 0);
});

test('a healthy cluster elects a leader quickly and commits without faults', () => {
  for (let seed = 5001; seed < 5011; seed++) {
    const sim = new Simulation({
      seed,
      nodes: 3,
      chaosTicks: 100,
      partitions: false,
      crashes: false,
      membership: false,
      transfers: false,
      dropRate: 0,
      duplicateRate: 0,
    });
    const s = sim.run();
    assert.ok(s.committed > 20, `seed ${seed} committed ${s.committed}`);
    assert.ok(s.maxTerm <= 3, `seed ${seed}: no needless elections (max term ${s.maxTerm})`);
    assert.ok(s.livenessTicks <= 10, `seed ${seed}: liveness took ${s.livenessTicks} ticks`);
  }
});

test('a run is deterministic: same seed, same statistics', () => {
  const a = new Simulation({ seed: 77, nodes: 5, chaosTicks: 300 }).run();
  const b = new Simulation({ seed: 77, nodes: 5, chaosTicks: 300 }).run();
  assert.deepEqual(a, b);
});
