import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RaftDriver } from '../../../appliance/s3db/driver.ts';
import type { RaftTimings } from '../../../appliance/s3db/driver.ts';
import { Fsm } from '../../../appliance/s3db/fsm.ts';
import { RaftLogStorage } from '../../../appliance/s3db/log-storage.ts';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const FAST: Partial<RaftTimings> = {
  tickMs: 10,
  electionTick: 10,
  heartbeatTick: 1,
  snapshotIntervalMs: 50,
  requestTimeoutMs: 3000,
};

interface Member {
  driver: RaftDriver;
  fsm: Fsm;
  storage: RaftLogStorage;
}

class Cluster {
  members = new Map<number, Member>();
  down = new Set<number>();
  /** Drops a message when it returns true (after the down check). */
  dropIf: ((from: number, to: number, payload: Uint8Array) => boolean) | undefined;
  constructor(
    readonly dir: string,
    readonly timings: Partial<RaftTimings>,
    readonly stream: { chunkBytes?: number; window?: number; stallMs?: number } = {},
  ) {}

  async start(id: number, peers: number[], campaignFirst = false): Promise<Member> {
    const storage = await RaftLogStorage.open(join(this.dir, `n${id}`, 'raft'));
    const fsm = await Fsm.open(join(this.dir, `n${id}`, 'fsm'));
    const initial = await storage.load();
    const snapshotDir = join(this.dir, `n${id}`, 'snapshots');
    await mkdir(snapshotDir, { recursive: true });
    const driver = new RaftDriver({
      id,
      peers,
      storage,
      fsm,
      initial,
      snapshotDir,
      snapshotStream: this.stream,
      timings: this.timings,
      campaignFirst,
      send: (to, payload) => {
        if (this.down.has(to) || this.down.has(id)) return;
        if (this.dropIf?.(id, to, payload)) return;
        const target = this.members.get(to);
        if (target) setImmediate(() => target.driver.receive(payload));
      },
    });
    const m = { driver, fsm, storage };
    this.members.set(id, m);
    this.down.delete(id);
    driver.start();
    return m;
  }

  async stop(id: number): Promise<void> {
    const m = this.members.get(id)!;
    this.members.delete(id);
    this.down.add(id);
    await m.driver.stop();
    await m.fsm.close();
    await m.storage.close();
  }

  async leader(): Promise<Member> {
    for (let i = 0; i < 500; i++) {
      for (const m of this.members.values()) if (m.driver.role === 'leader') return m;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no leader elected');
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
  }
}

test('3 drivers elect a leader, replicate, serve linearizable reads on followers, survive leader restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3db-drv-'));
  const c = new Cluster(dir, FAST);
  try {
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    let leader = await c.leader();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        leader.driver.propose({ type: 'put', table: 't', key: b(`k${i}`), value: b(`v${i}`) }),
      ),
    );
    assert.ok(results.every((r) => r.type === 'put' && r.version > 0));
    const follower = [...c.members.values()].find((m) => m !== leader)!;
    await assert.rejects(follower.driver.propose({ type: 'delete', table: 't', key: b('k1') }), {
      code: 'NotLeader',
    });
    await follower.driver.linearizableBarrier();
    assert.deepEqual((await follower.fsm.get('t', b('k49')))?.value, b('v49'));

    const oldId = [...c.members.entries()].find(([, m]) => m === leader)![0];
    await c.stop(oldId);
    leader = await c.leader();
    await leader.driver.propose({ type: 'put', table: 't', key: b('after'), value: b('x') });
    await c.start(oldId, [1, 2, 3]);
    const back = c.members.get(oldId)!;
    await back.driver.linearizableBarrier();
    assert.deepEqual((await back.fsm.get('t', b('after')))?.value, b('x'));
    assert.deepEqual((await back.fsm.get('t', b('k0')))?.value, b('v0'));
  } finally {
    await c.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
});

test('snapshots compact the log and a node that missed them catches up by snapshot', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3db-drv-'));
  const c = new Cluster(dir, { ...FAST, snapshotThreshold: 20, trailingLogs: 5 });
  try {
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    const lagging = [...c.members.entries()].find(([, m]) => m !== leader)![0];
    await c.stop(lagging);
    for (let i = 0; i < 60; i++)
      await leader.driver.propose({ type: 'put', table: 't', key: b(`k${i}`), value: b(`v${i}`) });
    await leader.driver.snapshotNow();
    await leader.driver.snapshotNow();
    const st = leader.driver.status();
    assert.ok(st.snapshotIndex > 0, 'leader took a snapshot');
    assert.ok(st.firstIndex > 1, `log compacted (first index ${st.firstIndex})`);
    const back = await c.start(lagging, [1, 2, 3]);
    await back.driver.linearizableBarrier();
    assert.deepEqual((await back.fsm.get('t', b('k59')))?.value, b('v59'));
    assert.deepEqual((await back.fsm.get('t', b('k0')))?.value, b('v0'));
    assert.ok(back.driver.status().snapshotIndex > 0, 'caught up through a snapshot');
  } finally {
    await c.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the bootstrap leader hint: the hinted founding member wins the first election', async () => {
  for (const hinted of [2, 3]) {
    const dir = await mkdtemp(join(tmpdir(), 's3db-drv-'));
    // Election timeouts (0.5–1 s) longer than the skew of opening three LevelDBs one after the other.
    const c = new Cluster(dir, { ...FAST, electionTick: 50 });
    try {
      for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3], id === hinted);
      const leader = await c.leader();
      assert.equal(leader, c.members.get(hinted), `node ${hinted} leads`);
    } finally {
      await c.stopAll();
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('a far-behind follower catches up from a snapshot sent in many chunks; a broken transfer resumes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 's3db-drv-'));
  const c = new Cluster(
    dir,
    { ...FAST, snapshotThreshold: 20, trailingLogs: 5 },
    { chunkBytes: 4096, window: 2, stallMs: 300 },
  );
  try {
    for (const id of [1, 2, 3]) await c.start(id, [1, 2, 3]);
    const leader = await c.leader();
    const lagging = [...c.members.entries()].find(([, m]) => m !== leader)![0];
    await c.stop(lagging);
    const value = new Uint8Array(200).fill(7);
    for (let i = 0; i < 400; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          leader.driver.propose({ type: 'put', table: 't', key: b(`k${i + j}`), value }),
        ),
      );
    }
    // Concurrent proposals share Raft entries (up to 50 commands each), so the 400 puts above are only a
    // handful of entries: sequential puts add one entry each until a snapshot has been taken and
    // `trailingLogs` entries follow it, which is when the log is compacted (bounded).
    for (let i = 0; i < 30 || (leader.driver.status().firstIndex <= 1 && i < 120); i++) {
      await leader.driver.propose({ type: 'put', table: 'u', key: b(`x${i}`), value });
      await leader.driver.snapshotNow();
    }
    assert.ok(leader.driver.status().firstIndex > 1, 'log compacted');
    // Lose one chunk in the middle of the first transfer: it stalls, fails, and the next offer resumes.
    let chunks = 0;
    c.dropIf = (_from, to, payload) =>
      to === lagging && payload[0] === 0xa5 && payload[1] === 3 && ++chunks === 5;
    const back = await c.start(lagging, [1, 2, 3]);
    await back.driver.linearizableBarrier();
    for (const k of ['k0', 'k399']) assert.deepEqual((await back.fsm.get('t', b(k)))?.value, value);
    assert.deepEqual((await back.fsm.get('u', b('x29')))?.value, value);
    const stats = leader.driver.snapshots.stats;
    assert.ok(stats.chunksSent > 20, `snapshot sent in ${stats.chunksSent} chunks`);
    assert.ok(stats.failed >= 1, 'the broken transfer failed');
    assert.ok(
      stats.resumedAt.some((at) => at >= 4 * 4096),
      `resumed at ${stats.resumedAt.join(',')}`,
    );
    assert.ok(stats.completed >= 1);
  } finally {
    await c.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
});
