import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RaftNode,
  NotLeaderError,
  ProposalDroppedError,
  ConfChangeInProgressError,
  RaftUsageError,
  encodeConfChange,
} from '../../../appliance/s3db/raft/index.ts';
import type { Message } from '../../../appliance/s3db/raft/index.ts';
import { TestCluster } from './harness.ts';
import { createPrng } from '../../sim/prng.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

test('bootstrap: founding nodes share identical committed conf-change entries and a first Ready', () => {
  const n = new RaftNode({ id: 1, peers: [3, 1, 2], random: createPrng(1).next, storage: emptyStorage() });
  assert.ok(n.hasReady());
  const rd = n.ready();
  assert.deepEqual(rd.hardState, { term: 1, vote: 0, commit: 3 });
  assert.deepEqual(
    rd.entries.map((e) => [e.index, e.term, e.type]),
    [
      [1, 1, 'confChange'],
      [2, 1, 'confChange'],
      [3, 1, 'confChange'],
    ],
  );
  assert.deepEqual(rd.entries[1]!.data, encodeConfChange({ type: 'addNode', nodeId: 2 }));
  assert.equal(rd.committedEntries.length, 3);
  assert.ok(rd.mustSync);
  assert.throws(() => n.ready(), RaftUsageError);
  n.advance(rd);
  assert.equal(n.hasReady(), false);
  assert.deepEqual(n.status().voters, [1, 2, 3]);
  assert.equal(n.status().applied, 3);
});

test('election with pre-vote: one leader, everyone agrees, term advances once', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  assert.deepEqual(c.leaders(), [1]);
  for (const id of [1, 2, 3]) {
    assert.equal(c.node(id).raft.status().leaderId, 1);
    assert.equal(c.node(id).raft.status().term, 2);
  }
  assert.equal(c.node(2).disk.hardState.vote, 1, 'vote persisted');
});

test('proposals replicate and apply everywhere; followers refuse with the leader id', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  c.propose(1, 'b');
  c.tickAll(1); // heartbeat carries the commit index
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedData(id), ['a', 'b']);
  assert.throws(
    () => c.node(2).raft.propose(enc('x')),
    (err: unknown) => err instanceof NotLeaderError && err.leaderId === 1,
  );
});

test('a partitioned node returning does not disrupt the cluster (pre-vote + check-quorum)', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  const term = c.node(1).raft.status().term;
  c.isolate(3);
  c.tickAll(100); // node 3 keeps pre-campaigning alone
  assert.equal(c.node(3).raft.status().term, term, 'pre-vote kept the isolated node term');
  c.heal();
  // Node 3 campaigns again right away: the others, hearing from a live leader, ignore it (leader lease).
  c.queue = [];
  for (let i = 0; i < 40 && !c.queue.some((m) => m.type === 'preVote'); i++) c.tick(3);
  assert.ok(c.queue.some((m) => m.type === 'preVote'));
  c.deliverAll();
  c.tickAll(30);
  assert.deepEqual(c.leaders(), [1]);
  assert.equal(c.node(1).raft.status().term, term);
  assert.equal(c.node(3).raft.status().leaderId, 1);
});

test('without pre-vote an isolated node inflates its term (the disruption pre-vote prevents)', () => {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.elect(1);
  const term = c.node(1).raft.status().term;
  c.isolate(3);
  c.tickAll(100);
  assert.ok(c.node(3).raft.status().term > term + 2);
});

test('check-quorum: an isolated leader steps down; the rest elect a new one', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(1);
  c.tickAll(25);
  assert.equal(c.node(1).raft.status().role, 'follower');
  const leaders = c.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], 1);
});

test('a deposed leader loses its uncommitted entries; logs converge (conflict back-off)', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'committed');
  c.isolate(1);
  for (let i = 0; i < 5; i++) c.propose(1, `lost${i}`);
  const l = c.electAmong([2, 3]);
  assert.equal(c.leaders().length, 2, 'the old leader has not noticed yet');
  c.propose(l, 'new1');
  c.propose(l, 'new2');
  c.heal();
  c.tickAll(5);
  assert.deepEqual(c.leaders(), [l]);
  for (const id of [1, 2, 3]) assert.deepEqual(c.appliedData(id), ['committed', 'new1', 'new2']);
  const terms = (id: number) => c.node(id).disk.entries.map((e) => `${e.index}@${e.term}`);
  assert.deepEqual(terms(1), terms(l));
});

test('only entries of the current term are committed by counting replicas (Raft §5.4.2)', () => {
  // Node 1 restarts with an old-term entry (index 2, term 2) and wins term 4 in a 5-node cluster.
  const n = new RaftNode({
    id: 1,
    peers: [],
    random: createPrng(3).next,
    storage: {
      hardState: { term: 3, vote: 0, commit: 1 },
      snapshot: { metadata: { index: 1, term: 1, voters: [1, 2, 3, 4, 5] }, data: new Uint8Array() },
      entries: [{ index: 2, term: 2, type: 'normal', data: enc('old') }],
    },
  });
  const out: Message[] = [];
  const pump = () => {
    while (n.hasReady()) {
      const rd = n.ready();
      out.push(...rd.messages);
      n.advance(rd);
    }
  };
  for (let i = 0; i < 20 && n.status().role === 'follower'; i++) n.tick();
  pump();
  for (const from of [2, 3]) n.step({ type: 'preVoteResponse', from, to: 1, term: 4, reject: false });
  for (const from of [2, 3]) n.step({ type: 'voteResponse', from, to: 1, term: 4, reject: false });
  pump();
  assert.equal(n.status().role, 'leader');
  assert.equal(n.status().lastIndex, 3, 'no-op of term 4 appended');
  const ack = (from: number, index: number) =>
    n.step({ type: 'appendResponse', from, to: 1, term: 4, index, reject: false, rejectHint: 0, logTerm: 0 });
  ack(2, 2);
  ack(3, 2);
  assert.equal(n.status().commit, 1, 'old-term entry on a majority is NOT committed by counting');
  ack(2, 3);
  assert.equal(n.status().commit, 1);
  ack(3, 3);
  assert.equal(n.status().commit, 3, 'committing the current-term entry commits the older one too');
});

test('ReadIndex on the leader and through a follower; an isolated leader never answers', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  const commit = c.node(1).raft.status().commit;
  c.node(1).raft.readIndex(enc('r1'));
  c.process(1);
  c.deliverAll();
  assert.deepEqual(
    c.node(1).readStates.map((r) => [r.index, new TextDecoder().decode(r.requestCtx)]),
    [[commit, 'r1']],
  );
  c.node(3).raft.readIndex(enc('r2'));
  c.process(3);
  c.deliverAll();
  assert.deepEqual(
    c.node(3).readStates.map((r) => r.index),
    [commit],
  );
  c.isolate(1);
  c.node(1).raft.readIndex(enc('r3'));
  c.process(1);
  c.tickAll(3);
  assert.equal(c.node(1).readStates.length, 1, 'no answer without a quorum of acks');
  assert.throws(() => c.node(1).raft.readIndex(new Uint8Array()), RaftUsageError);
});

test('a stale leader that still hears from a minority cannot answer reads', () => {
  const c = new TestCluster([1, 2, 3, 4, 5]);
  c.elect(1);
  c.propose(1, 'a');
  c.split([1, 2]);
  const l = c.electAmong([3, 4, 5]);
  c.propose(l, 'b');
  c.node(1).raft.readIndex(enc('stale'));
  c.process(1);
  c.deliverAll();
  c.tick(1);
  c.deliverAll();
  assert.equal(c.node(1).readStates.length, 0, 'one ack from node 2 is not a quorum of 5');
  c.node(l).raft.readIndex(enc('fresh'));
  c.process(l);
  c.deliverAll();
  assert.equal(c.node(l).readStates[0]?.index, c.node(l).raft.status().commit);
});

test('a new leader defers reads until it commits an entry of its term', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  // Elect 2 but hold back everything it sends after winning, so its no-op is not committed yet.
  c.isolate(1);
  const l = c.electAmong([2, 3], (m) => m.type !== 'append');
  c.node(l).raft.readIndex(enc('early'));
  c.process(l);
  c.deliverAll((m) => m.type !== 'append' && m.type !== 'heartbeat');
  assert.equal(c.node(l).readStates.length, 0, 'deferred');
  c.tick(l);
  c.deliverAll();
  assert.equal(c.node(l).readStates.length, 1);
  const s = c.node(l).raft.status();
  assert.equal(c.node(l).readStates[0]!.index, s.commit);
  assert.equal(s.commit, s.lastIndex, "read index covers the new leader's no-op");
});

test('leadership transfer: target becomes leader; proposals are refused meanwhile', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  c.isolate(3);
  c.node(1).raft.transferLeadership(3);
  assert.throws(() => c.node(1).raft.propose(enc('x')), ProposalDroppedError);
  c.heal();
  c.tickAll(3);
  assert.deepEqual(c.leaders(), [3]);
  assert.throws(() => c.node(1).raft.transferLeadership(2), NotLeaderError);
  assert.throws(() => c.node(3).raft.transferLeadership(9), RaftUsageError);
});

test('a transfer that cannot finish within an election timeout is abandoned', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  c.node(1).raft.transferLeadership(3);
  for (let i = 0; i < 11; i++) {
    c.tick(1);
    c.tick(2);
    c.deliverAll();
  }
  assert.equal(c.node(1).raft.status().leadTransferee, 0);
  c.propose(1, 'after');
});

test('snapshot catch-up: a lagging follower receives InstallSnapshot after compaction', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.isolate(3);
  for (let i = 0; i < 30; i++) c.propose(1, `v${i}`);
  c.tickAll(1);
  const leader = c.node(1);
  const applied = leader.raft.status().applied;
  const snap = leader.raft.compact(applied, enc(`fsm@${applied}`));
  assert.equal(snap.metadata.index, applied);
  assert.deepEqual(snap.metadata.voters, [1, 2, 3]);
  assert.equal(leader.raft.status().firstIndex, applied + 1);
  assert.throws(() => leader.raft.compact(applied, enc('again')), RaftUsageError);
  c.heal();
  c.tickAll(5);
  const n3 = c.node(3);
  assert.equal(n3.snapshotsReceived, 1);
  assert.deepEqual(n3.disk.snapshot?.data, enc(`fsm@${applied}`));
  assert.equal(n3.raft.status().commit, leader.raft.status().commit);
  c.propose(1, 'tail');
  c.tickAll(1);
  assert.deepEqual(c.appliedData(3), ['tail']);
});

test('restart from disk keeps term, vote and log; a restarted follower catches up', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  const before = c.node(2).raft.status();
  c.restart(2);
  const after = c.node(2).raft.status();
  assert.equal(after.term, before.term);
  assert.equal(after.vote, before.vote);
  assert.equal(after.lastIndex, before.lastIndex);
  assert.deepEqual(after.voters, [1, 2, 3]);
  c.propose(1, 'b');
  c.tickAll(2);
  assert.deepEqual(c.appliedData(2).slice(-1), ['b']);
});

test('membership: add a node (it learns the log), then remove one; one change at a time', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.propose(1, 'a');
  c.add(4, []);
  assert.equal(c.node(4).raft.status().voters.length, 0);
  c.node(1).raft.proposeConfChange({ type: 'addNode', nodeId: 4 });
  assert.throws(
    () => c.node(1).raft.proposeConfChange({ type: 'removeNode', nodeId: 2 }),
    ConfChangeInProgressError,
  );
  c.process(1);
  c.deliverAll();
  c.tickAll(3);
  for (const id of [1, 2, 3, 4]) assert.deepEqual(c.node(id).raft.status().voters, [1, 2, 3, 4]);
  assert.deepEqual(c.appliedData(4), ['a']);
  c.node(1).raft.proposeConfChange({ type: 'removeNode', nodeId: 2 });
  c.process(1);
  c.deliverAll();
  c.tickAll(2);
  assert.deepEqual(c.node(1).raft.status().voters, [1, 3, 4]);
  assert.throws(() => c.node(1).raft.proposeConfChange({ type: 'addNode', nodeId: 3 }), RaftUsageError);
  c.isolate(2);
  c.propose(1, 'without2');
  c.tickAll(2);
  assert.deepEqual(c.appliedData(4).slice(-1), ['without2']);
});

test('a leader that removes itself steps down and the rest elect a leader', () => {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.node(1).raft.proposeConfChange({ type: 'removeNode', nodeId: 1 });
  c.process(1);
  c.deliverAll();
  c.tickAll(1);
  assert.equal(c.node(1).raft.status().role, 'follower');
  c.isolate(1);
  c.tickAll(30);
  const leaders = c.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], 1);
  assert.deepEqual(c.node(leaders[0]!).raft.status().voters, [2, 3]);
});

test('a single-node cluster commits and answers reads on its own', () => {
  const c = new TestCluster([1]);
  c.elect(1);
  assert.deepEqual(c.leaders(), [1]);
  c.propose(1, 'solo');
  assert.deepEqual(c.appliedData(1), ['solo']);
  c.node(1).raft.readIndex(enc('r'));
  c.process(1);
  assert.equal(c.node(1).readStates[0]?.index, c.node(1).raft.status().commit);
});

test('bad input: invalid config and misuse throw typed errors', () => {
  assert.throws(
    () => new RaftNode({ id: 0, peers: [], random: Math.random, storage: emptyStorage() }),
    RaftUsageError,
  );
  assert.throws(
    () => new RaftNode({ id: 1, peers: [1], electionTick: 1, random: Math.random, storage: emptyStorage() }),
    RaftUsageError,
  );
  assert.throws(
    () =>
      new RaftNode({
        id: 1,
        peers: [],
        random: Math.random,
        storage: { hardState: { term: 1, vote: 0, commit: 5 }, entries: [] },
      }),
    RaftUsageError,
  );
  const n = new RaftNode({ id: 1, peers: [1], random: Math.random, storage: emptyStorage() });
  const rd = n.ready();
  assert.throws(() => n.advance({ ...rd }), RaftUsageError);
});

function emptyStorage() {
  return { hardState: { term: 0, vote: 0, commit: 0 }, entries: [] };
}

test('a follower whose appends were all lost recovers once heartbeats flow (full in-flight window)', () => {
  const c = new TestCluster([1, 2, 3], { maxInflight: 2 });
  c.elect(1);
  c.propose(1, 'a');
  for (let i = 0; i < 6; i++) {
    c.node(1).raft.propose(enc(`lost${i}`));
    c.process(1);
    c.deliverAll((m) => !(m.type === 'append' && m.to === 3));
  }
  c.tickAll(10);
  assert.deepEqual(c.appliedData(3), ['a', 'lost0', 'lost1', 'lost2', 'lost3', 'lost4', 'lost5']);
});

test('a follower acks and commits only what the append proved to match, not its stale tail', () => {
  const n = new RaftNode({
    id: 2,
    peers: [],
    random: createPrng(5).next,
    storage: {
      hardState: { term: 2, vote: 0, commit: 1 },
      snapshot: { metadata: { index: 1, term: 1, voters: [1, 2, 3] }, data: new Uint8Array() },
      entries: [
        { index: 2, term: 1, type: 'normal', data: enc('x') },
        { index: 3, term: 2, type: 'normal', data: enc('stale1') },
        { index: 4, term: 2, type: 'normal', data: enc('stale2') },
      ],
    },
  });
  // The term-3 leader's append matches at index 2 and carries nothing more (e.g. a size-limited probe).
  n.step({ type: 'append', from: 1, to: 2, term: 3, index: 2, logTerm: 1, entries: [], commit: 4 });
  const rd = n.ready();
  const resp = rd.messages.find((m) => m.type === 'appendResponse');
  assert.ok(resp !== undefined && resp.type === 'appendResponse');
  assert.equal(resp.reject, false);
  assert.equal(resp.index, 2, 'acks the last index the append vouched for');
  assert.equal(n.status().commit, 2, 'commit capped at the last matching index');
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [2],
  );
  n.advance(rd);
});

test('campaign(): a follower starts an election at once (bootstrap hint); a leader ignores it', () => {
  const c = new TestCluster([1, 2, 3]);
  c.node(3).raft.campaign();
  c.process(3);
  c.deliverAll();
  assert.deepEqual(c.leaders(), [3]);
  const term = c.node(3).raft.status().term;
  c.node(3).raft.campaign();
  assert.equal(c.node(3).raft.status().term, term);
  assert.deepEqual(c.leaders(), [3]);
});
